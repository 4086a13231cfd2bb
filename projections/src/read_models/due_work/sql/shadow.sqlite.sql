CREATE TEMP TABLE due_work AS SELECT * FROM main.due_work WHERE false
