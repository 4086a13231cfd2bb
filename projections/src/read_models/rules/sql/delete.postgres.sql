DELETE FROM categorisation_rules WHERE tenant_id = $1::uuid AND rule_id = $2::uuid
