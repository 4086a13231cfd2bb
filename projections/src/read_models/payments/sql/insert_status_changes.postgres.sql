INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT unnest($1::uuid[]), unnest($2::bigint[]), unnest($3::text[]), unnest($4::timestamptz[])
