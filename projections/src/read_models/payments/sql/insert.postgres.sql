INSERT INTO payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
                      idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
                      cancellation_requested, requested_at, status_changed_at, updated_at, event_count)
SELECT payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount::numeric, currency,
       idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
       cancellation_requested, requested_at, status_changed_at, updated_at, event_count
FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], $15::integer[],
            $16::boolean[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::bigint[])
         AS r(payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
              idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
              cancellation_requested, requested_at, status_changed_at, updated_at, event_count)
