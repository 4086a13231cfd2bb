INSERT INTO incoming_transactions (consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
                                   value_date, amount, currency, counterparty, description, category, flow, observed_at)
SELECT consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
       value_date, amount, currency, counterparty, description, category, flow, observed_at
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, transaction_id text, tenant_id uuid,
                                      user_id uuid, bank text, status text, booking_date date, value_date date,
                                      amount numeric, currency text, counterparty text, description text,
                                      category text, flow text, observed_at timestamptz)
