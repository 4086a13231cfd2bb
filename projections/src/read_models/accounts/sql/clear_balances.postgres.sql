DELETE FROM balances
