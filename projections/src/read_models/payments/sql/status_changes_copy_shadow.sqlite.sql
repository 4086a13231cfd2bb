INSERT INTO main.payment_status_changes SELECT * FROM temp.payment_status_changes
