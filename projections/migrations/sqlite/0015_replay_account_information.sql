-- The accounts, transactions and spending projections used to skip every event, so their checkpoints may stand
-- past AccountData and ConsentRequested events they now need. Their tables were recreated empty by 0010-0013;
-- moving their checkpoints back to the start makes the runner replay the whole log into them.
UPDATE projection_checkpoints
SET transaction_id = 0, position = 0, events_applied = 0, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE projection IN ('accounts', 'transactions', 'spending');
