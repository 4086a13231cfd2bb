INSERT INTO categorisation_rules (rule_id, tenant_id, priority, rule, created_at)
VALUES ($1, $2, $3, $4, $5)
