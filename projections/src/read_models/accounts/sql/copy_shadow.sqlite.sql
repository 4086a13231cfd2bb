INSERT INTO main.accounts SELECT * FROM temp.accounts
