CREATE TEMP TABLE accounts AS SELECT * FROM main.accounts WHERE false
