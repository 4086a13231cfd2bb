SELECT payment_id::text AS payment_id, tenant_id::text AS tenant_id, user_id::text AS user_id, bank, service,
       product, phase, status, bank_payment_id
FROM payments
WHERE payment_id IN (SELECT json_array_elements_text($1::json)::uuid)
