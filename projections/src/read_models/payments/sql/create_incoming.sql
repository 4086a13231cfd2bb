CREATE TEMP TABLE IF NOT EXISTS incoming_payments AS SELECT * FROM payments WHERE false
