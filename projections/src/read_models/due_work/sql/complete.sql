DELETE FROM due_work
WHERE kind = $1 AND aggregate_id = $2 AND lease_owner = $3
