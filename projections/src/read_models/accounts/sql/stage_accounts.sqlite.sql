INSERT INTO incoming_accounts (consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen,
                               last_seen)
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'tenant_id', value ->> 'user_id',
       value ->> 'bank', value ->> 'iban', value ->> 'currency', value ->> 'name', value ->> 'product',
       value ->> 'first_seen', value ->> 'last_seen'
FROM json_each($1)
