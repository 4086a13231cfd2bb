INSERT INTO balances (consent_id, account_id, balance_type, tenant_id, user_id, amount, currency, reference_date,
                      observed_at)
SELECT consent_id, account_id, balance_type, tenant_id, user_id, amount, currency, reference_date, observed_at
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, balance_type text, tenant_id uuid,
                                      user_id uuid, amount numeric, currency text, reference_date date,
                                      observed_at timestamptz)
ON CONFLICT (consent_id, account_id, balance_type) DO UPDATE SET
    amount         = excluded.amount,
    currency       = excluded.currency,
    reference_date = excluded.reference_date,
    observed_at    = excluded.observed_at
