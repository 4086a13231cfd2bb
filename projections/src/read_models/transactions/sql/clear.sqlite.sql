DELETE FROM main.transactions
