SELECT consent_id, tenant_id, user_id, bank
FROM consent_owners
WHERE consent_id IN (SELECT value FROM json_each($1))
