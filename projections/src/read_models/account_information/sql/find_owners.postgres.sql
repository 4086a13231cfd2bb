SELECT consent_id::text, tenant_id::text, user_id::text, bank
FROM consent_owners
WHERE consent_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))
