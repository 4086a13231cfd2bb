INSERT INTO consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until,
                      status, status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of,
                      renewed_by, requested_at, authorised_at, status_changed_at, updated_at, event_count)
SELECT unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::text[]), unnest($5::text[]),
       unnest($6::boolean[]), unnest($7::integer[]), unnest($8::date[]), unnest($9::text[]),
       unnest($10::text[]), unnest($11::text[]), unnest($12::text[]), unnest($13::text[]), unnest($14::uuid[]),
       unnest($15::uuid[]), unnest($16::timestamptz[]), unnest($17::timestamptz[]), unnest($18::timestamptz[]),
       unnest($19::timestamptz[]), unnest($20::bigint[])
