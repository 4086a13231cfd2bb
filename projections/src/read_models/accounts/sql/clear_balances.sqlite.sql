DELETE FROM main.balances
