SELECT rule_id, rule
FROM categorisation_rules
WHERE tenant_id = $1
ORDER BY priority DESC, created_at, rule_id
