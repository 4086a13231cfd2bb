CREATE TEMP TABLE consents AS SELECT * FROM main.consents WHERE false
