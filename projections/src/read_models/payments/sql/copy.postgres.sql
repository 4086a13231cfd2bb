COPY payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
               idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts, cancellation_requested,
               requested_at, status_changed_at, updated_at, event_count)
FROM STDIN (FORMAT binary)
