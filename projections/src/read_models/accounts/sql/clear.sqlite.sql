DELETE FROM main.accounts
