SELECT aggregate_id, since_ms
FROM due_work
WHERE kind = 'paymentPoll' AND due_ms <= $1
ORDER BY due_ms
LIMIT 1
FOR UPDATE SKIP LOCKED
