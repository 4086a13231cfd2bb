CREATE TEMP TABLE balances AS SELECT * FROM main.balances WHERE false
