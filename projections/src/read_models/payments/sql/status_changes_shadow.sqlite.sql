CREATE TEMP TABLE payment_status_changes AS SELECT * FROM main.payment_status_changes WHERE false
