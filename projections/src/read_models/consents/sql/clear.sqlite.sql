DELETE FROM main.consents
