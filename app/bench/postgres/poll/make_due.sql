UPDATE due_work SET due_ms = 0, lease_owner = NULL, lease_until_ms = NULL WHERE kind = 'paymentPoll'
