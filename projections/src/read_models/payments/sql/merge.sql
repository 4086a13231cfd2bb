INSERT INTO payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
                      idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
                      cancellation_requested, requested_at, status_changed_at, updated_at, event_count)
SELECT payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
       idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts, cancellation_requested,
       requested_at, status_changed_at, updated_at, event_count
FROM incoming_payments
WHERE true
ON CONFLICT (payment_id) DO UPDATE SET
    tenant_id              = coalesce(excluded.tenant_id, payments.tenant_id),
    user_id                = coalesce(excluded.user_id, payments.user_id),
    bank                   = coalesce(excluded.bank, payments.bank),
    service                = coalesce(excluded.service, payments.service),
    product                = coalesce(excluded.product, payments.product),
    creditor_name          = coalesce(excluded.creditor_name, payments.creditor_name),
    amount                 = coalesce(excluded.amount, payments.amount),
    currency               = coalesce(excluded.currency, payments.currency),
    idempotency_key        = coalesce(excluded.idempotency_key, payments.idempotency_key),
    phase                  = coalesce(excluded.phase, payments.phase),
    status                 = coalesce(excluded.status, payments.status),
    bank_payment_id        = coalesce(excluded.bank_payment_id, payments.bank_payment_id),
    sca_redirect_url       = coalesce(excluded.sca_redirect_url, payments.sca_redirect_url),
    attempts               = coalesce(excluded.attempts, payments.attempts),
    cancellation_requested = coalesce(excluded.cancellation_requested, payments.cancellation_requested),
    requested_at           = coalesce(excluded.requested_at, payments.requested_at),
    status_changed_at      = coalesce(excluded.status_changed_at, payments.status_changed_at),
    updated_at             = coalesce(excluded.updated_at, payments.updated_at),
    event_count            = payments.event_count + excluded.event_count
