CREATE UNIQUE INDEX temp.accounts_shadow_key ON accounts (consent_id, account_id)
