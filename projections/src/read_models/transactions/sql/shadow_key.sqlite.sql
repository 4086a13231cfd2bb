CREATE UNIQUE INDEX temp.transactions_shadow_key ON transactions (consent_id, account_id, transaction_id)
