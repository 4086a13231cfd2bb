UPDATE transactions t SET status = 'vanished'
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, transaction_id text)
WHERE t.consent_id = r.consent_id AND t.account_id = r.account_id AND t.transaction_id = r.transaction_id
