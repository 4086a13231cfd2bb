INSERT INTO transactions (consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
                          value_date, amount, currency, counterparty, description, category, flow, observed_at)
SELECT consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date, value_date, amount,
       currency, counterparty, description, category, flow, observed_at
FROM incoming_transactions
WHERE true
ON CONFLICT (consent_id, account_id, transaction_id) DO UPDATE SET
    status       = excluded.status,
    booking_date = excluded.booking_date,
    value_date   = excluded.value_date,
    amount       = excluded.amount,
    currency     = excluded.currency,
    counterparty = excluded.counterparty,
    description  = excluded.description,
    category     = excluded.category,
    flow         = excluded.flow,
    observed_at  = excluded.observed_at
