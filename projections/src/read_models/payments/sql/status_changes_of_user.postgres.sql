SELECT s.payment_id::text AS payment_id, s.status, s.changed_at
FROM payment_status_changes s
JOIN payments p ON p.payment_id = s.payment_id
WHERE p.tenant_id = $1::uuid AND p.user_id = $2::uuid
ORDER BY s.payment_id, s.sequence
