CREATE TEMP TABLE payments AS SELECT * FROM main.payments WHERE false
