SELECT consent_id, account_id, balance_type, amount, currency, reference_date, observed_at
FROM balances
WHERE tenant_id = $1 AND user_id = $2
ORDER BY consent_id, account_id, balance_type
