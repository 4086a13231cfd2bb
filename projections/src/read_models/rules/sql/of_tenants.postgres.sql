SELECT tenant_id::text AS tenant_id, rule
FROM categorisation_rules
WHERE tenant_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))
ORDER BY tenant_id, created_at, rule_id
