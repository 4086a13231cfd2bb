SELECT consent_id, account_id, bank, iban, currency, name, product, first_seen, last_seen
FROM accounts
WHERE tenant_id = $1 AND user_id = $2
ORDER BY bank, consent_id, account_id
