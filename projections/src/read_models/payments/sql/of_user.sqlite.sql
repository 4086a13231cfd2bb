SELECT payment_id, bank, service, product, creditor_name, amount, currency, phase, status,
       bank_payment_id, attempts, cancellation_requested, requested_at, status_changed_at
FROM payments
WHERE tenant_id = $1 AND user_id = $2
ORDER BY requested_at DESC, payment_id
