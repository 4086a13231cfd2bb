SELECT projection, transaction_id, position, events_applied, updated_at, last_error, last_error_at, failures
FROM projection_checkpoints
ORDER BY projection
