INSERT INTO consent_owners (consent_id, tenant_id, user_id, bank)
SELECT unnest($1::uuid[]), unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::text[])
ON CONFLICT (consent_id) DO NOTHING
