SELECT payment_id::text AS payment_id, bank, service, product, creditor_name, amount::text AS amount, currency,
       phase, status, bank_payment_id, attempts, cancellation_requested, requested_at, status_changed_at
FROM payments
WHERE tenant_id = $1::uuid AND user_id = $2::uuid
ORDER BY requested_at DESC, payment_id
