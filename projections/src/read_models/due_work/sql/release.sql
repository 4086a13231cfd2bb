UPDATE due_work SET lease_owner = NULL, lease_until_ms = NULL WHERE lease_owner = $1
