SELECT consent_id::text AS consent_id, account_id, balance_type, amount::text AS amount, currency, reference_date,
       observed_at
FROM balances
WHERE tenant_id = $1::uuid AND user_id = $2::uuid
ORDER BY consent_id, account_id, balance_type
