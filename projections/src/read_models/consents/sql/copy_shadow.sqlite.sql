INSERT INTO main.consents SELECT * FROM temp.consents
