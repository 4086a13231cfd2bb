INSERT INTO incoming_accounts (consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen,
                               last_seen)
SELECT consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen, last_seen
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, tenant_id uuid, user_id uuid, bank text,
                                      iban text, currency text, name text, product text,
                                      first_seen timestamptz, last_seen timestamptz)
