INSERT INTO main.spending SELECT * FROM temp.spending
