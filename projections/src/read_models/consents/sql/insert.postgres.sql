INSERT INTO consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until,
                      status, status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of,
                      renewed_by, requested_at, authorised_at, status_changed_at, updated_at, event_count)
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::boolean[], $7::integer[],
                     $8::date[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::uuid[],
                     $15::uuid[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
                     $20::bigint[])
