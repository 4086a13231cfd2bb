DELETE FROM consents
