DELETE FROM categorisation_rules WHERE tenant_id = $1 AND rule_id = $2
