INSERT INTO balances (consent_id, account_id, balance_type, tenant_id, user_id, amount, currency, reference_date,
                      observed_at)
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'balance_type', value ->> 'tenant_id',
       value ->> 'user_id', value ->> 'amount', value ->> 'currency', value ->> 'reference_date',
       value ->> 'observed_at'
FROM json_each($1)
WHERE true
ON CONFLICT (consent_id, account_id, balance_type) DO UPDATE SET
    amount         = excluded.amount,
    currency       = excluded.currency,
    reference_date = excluded.reference_date,
    observed_at    = excluded.observed_at
