TRUNCATE consents, consent_owners, payments, payment_status_changes, accounts, balances, transactions, spending, due_work
