CREATE TEMP TABLE IF NOT EXISTS incoming_transactions AS SELECT * FROM transactions WHERE false
