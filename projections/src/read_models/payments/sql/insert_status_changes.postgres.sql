INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT payment_id, sequence, status, changed_at
FROM json_to_recordset($1::json) AS r(payment_id uuid, sequence bigint, status text, changed_at timestamptz)
