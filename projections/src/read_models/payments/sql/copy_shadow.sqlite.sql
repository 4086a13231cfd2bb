INSERT INTO main.payments SELECT * FROM temp.payments
