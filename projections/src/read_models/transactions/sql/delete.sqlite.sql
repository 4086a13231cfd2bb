DELETE FROM transactions
WHERE (consent_id, account_id, transaction_id) IN
      (SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id' FROM json_each($1))
