CREATE TEMP TABLE transactions AS SELECT * FROM main.transactions WHERE false
