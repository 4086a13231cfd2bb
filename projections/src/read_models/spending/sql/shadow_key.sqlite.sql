CREATE UNIQUE INDEX temp.spending_shadow_key ON spending (tenant_id, user_id, month, category, currency, flow)
