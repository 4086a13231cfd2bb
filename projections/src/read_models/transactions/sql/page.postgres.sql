SELECT consent_id::text AS consent_id, account_id, transaction_id, bank, status, booking_date, value_date,
       amount::text AS amount, currency, counterparty, description, category, flow
FROM transactions
WHERE tenant_id = $1::uuid AND user_id = $2::uuid
  AND coalesce(booking_date, value_date) BETWEEN $3 AND $4
  AND ($5::date IS NULL OR coalesce(booking_date, value_date) < $5
       OR (coalesce(booking_date, value_date) = $5
           AND (bank, consent_id, account_id, transaction_id) > ($6, $7::uuid, $8, $9)))
ORDER BY coalesce(booking_date, value_date) DESC, bank, consent_id, account_id, transaction_id
LIMIT $10
