SELECT tenant_id FROM tenants WHERE api_key_sha256 = ?1
