SELECT projection, transaction_id, position, events_applied, updated_at::text AS updated_at, last_error,
       last_error_at::text AS last_error_at, failures::bigint AS failures
FROM projection_checkpoints
ORDER BY projection
