INSERT INTO consent_owners (consent_id, tenant_id, user_id, bank)
SELECT value ->> 'consent_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank'
FROM json_each($1)
WHERE true
ON CONFLICT (consent_id) DO NOTHING
