INSERT INTO consent_owners (consent_id, tenant_id, user_id, bank)
SELECT consent_id, tenant_id, user_id, bank
FROM json_to_recordset($1::json) AS r(consent_id uuid, tenant_id uuid, user_id uuid, bank text)
ON CONFLICT (consent_id) DO NOTHING
