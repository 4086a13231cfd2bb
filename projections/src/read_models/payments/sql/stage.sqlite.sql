INSERT INTO incoming_payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
                               idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
                               cancellation_requested, requested_at, status_changed_at, updated_at, event_count)
SELECT value ->> 'payment_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank', value ->> 'service',
       value ->> 'product', value ->> 'creditor_name', value ->> 'amount', value ->> 'currency',
       value ->> 'idempotency_key', value ->> 'phase', value ->> 'status', value ->> 'bank_payment_id',
       value ->> 'sca_redirect_url', value ->> 'attempts', value ->> 'cancellation_requested',
       value ->> 'requested_at', value ->> 'status_changed_at', value ->> 'updated_at', value ->> 'event_count'
FROM json_each($1)
