DELETE FROM payments
