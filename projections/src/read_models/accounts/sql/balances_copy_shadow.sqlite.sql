INSERT INTO main.balances SELECT * FROM temp.balances
