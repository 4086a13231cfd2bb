SELECT due_ms FROM due_work WHERE kind = $1 AND aggregate_id = $2
