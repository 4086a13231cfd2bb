CREATE TEMP TABLE spending AS SELECT * FROM main.spending WHERE false
