SELECT tenant_id, name, created_at_ms FROM tenants ORDER BY created_at_ms, tenant_id
