SELECT consent_id, account_id, transaction_id, bank, status, booking_date, value_date, amount,
       currency, counterparty, description, category, flow
FROM transactions
WHERE tenant_id = $1 AND user_id = $2
  AND coalesce(booking_date, value_date) BETWEEN $3 AND $4
  AND ($5 IS NULL OR coalesce(booking_date, value_date) < $5
       OR (coalesce(booking_date, value_date) = $5
           AND (bank, consent_id, account_id, transaction_id) > ($6, $7, $8, $9)))
ORDER BY coalesce(booking_date, value_date) DESC, bank, consent_id, account_id, transaction_id
LIMIT $10
