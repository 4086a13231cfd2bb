INSERT INTO accounts (consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen,
                      last_seen)
SELECT consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen, last_seen
FROM incoming_accounts
WHERE true
ON CONFLICT (consent_id, account_id) DO UPDATE SET
    iban      = excluded.iban,
    currency  = excluded.currency,
    name      = excluded.name,
    product   = excluded.product,
    last_seen = excluded.last_seen
