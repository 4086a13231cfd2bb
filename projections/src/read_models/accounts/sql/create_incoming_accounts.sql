CREATE TEMP TABLE IF NOT EXISTS incoming_accounts AS SELECT * FROM accounts WHERE false
