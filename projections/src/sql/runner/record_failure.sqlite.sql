UPDATE projection_checkpoints
SET last_error = $2, last_error_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), failures = failures + 1
WHERE projection = $1
