UPDATE due_work
SET due_ms = $1, attempts = $2, lease_owner = NULL, lease_until_ms = NULL
WHERE kind = $3 AND aggregate_id = $4 AND lease_owner = $5
