DELETE FROM transactions
