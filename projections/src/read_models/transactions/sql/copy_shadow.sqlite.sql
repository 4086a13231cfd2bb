INSERT INTO main.transactions SELECT * FROM temp.transactions
