SELECT 0 AS transaction_id, position FROM events ORDER BY position DESC LIMIT 1
