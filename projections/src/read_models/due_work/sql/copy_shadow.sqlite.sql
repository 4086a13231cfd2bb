INSERT INTO main.due_work SELECT * FROM temp.due_work
