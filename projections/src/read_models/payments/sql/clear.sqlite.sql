DELETE FROM main.payments
