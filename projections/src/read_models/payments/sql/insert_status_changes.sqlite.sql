INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT value ->> 'payment_id', value ->> 'sequence', value ->> 'status', value ->> 'changed_at'
FROM json_each($1)
