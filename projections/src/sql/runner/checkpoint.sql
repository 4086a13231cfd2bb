SELECT transaction_id, position FROM projection_checkpoints WHERE projection = $1
