INSERT INTO consent_owners (consent_id, tenant_id, user_id, bank)
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[])
ON CONFLICT (consent_id) DO NOTHING
