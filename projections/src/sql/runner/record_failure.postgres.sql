UPDATE projection_checkpoints
SET last_error = $2, last_error_at = now(), failures = failures + 1
WHERE projection = $1
