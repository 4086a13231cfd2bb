CREATE UNIQUE INDEX temp.balances_shadow_key ON balances (consent_id, account_id, balance_type)
