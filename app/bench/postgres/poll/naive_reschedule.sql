UPDATE due_work SET due_ms = $1 WHERE kind = 'paymentPoll' AND aggregate_id = $2
