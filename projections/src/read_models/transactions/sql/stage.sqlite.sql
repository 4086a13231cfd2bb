INSERT INTO incoming_transactions (consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
                                   value_date, amount, currency, counterparty, description, category, flow, observed_at)
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id', value ->> 'tenant_id',
       value ->> 'user_id', value ->> 'bank', value ->> 'status', value ->> 'booking_date', value ->> 'value_date',
       value ->> 'amount', value ->> 'currency', value ->> 'counterparty', value ->> 'description',
       value ->> 'category', value ->> 'flow', value ->> 'observed_at'
FROM json_each($1)
