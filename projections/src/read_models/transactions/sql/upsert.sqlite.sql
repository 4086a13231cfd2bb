INSERT INTO transactions (consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
                          value_date, amount, currency, counterparty, description, category, flow, observed_at)
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id', value ->> 'tenant_id',
       value ->> 'user_id', value ->> 'bank', value ->> 'status', value ->> 'booking_date', value ->> 'value_date',
       value ->> 'amount', value ->> 'currency', value ->> 'counterparty', value ->> 'description',
       value ->> 'category', value ->> 'flow', value ->> 'observed_at'
FROM json_each($1)
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
