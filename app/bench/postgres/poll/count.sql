SELECT COUNT(*) FROM due_work WHERE kind = 'paymentPoll'
