CREATE TEMP TABLE IF NOT EXISTS incoming_consents AS SELECT * FROM consents WHERE false
