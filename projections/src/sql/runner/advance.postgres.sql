UPDATE projection_checkpoints
SET transaction_id = $2, position = $3, events_applied = events_applied + $4, updated_at = now(),
    last_error = NULL, failures = 0
WHERE projection = $1
