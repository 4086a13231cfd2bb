INSERT INTO payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
                      idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
                      cancellation_requested, requested_at, status_changed_at, updated_at, event_count)
SELECT unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::text[]), unnest($5::text[]),
       unnest($6::text[]), unnest($7::text[]), unnest($8::text[])::numeric, unnest($9::text[]),
       unnest($10::uuid[]), unnest($11::text[]), unnest($12::text[]), unnest($13::text[]), unnest($14::text[]),
       unnest($15::integer[]), unnest($16::boolean[]), unnest($17::timestamptz[]), unnest($18::timestamptz[]),
       unnest($19::timestamptz[]), unnest($20::bigint[])
