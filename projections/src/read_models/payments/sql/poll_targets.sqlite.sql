SELECT payment_id, tenant_id, user_id, bank, service, product, phase, status, bank_payment_id
FROM payments
WHERE payment_id IN (SELECT value FROM json_each($1))
