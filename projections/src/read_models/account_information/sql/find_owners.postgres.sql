SELECT consent_id::text AS consent_id, tenant_id::text AS tenant_id, user_id::text AS user_id, bank
FROM consent_owners
WHERE consent_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))
