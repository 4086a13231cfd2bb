SELECT tenant_id, rule
FROM categorisation_rules
WHERE tenant_id IN (SELECT value FROM json_each($1))
ORDER BY tenant_id, created_at, rule_id
