INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::timestamptz[])
