UPDATE tenants SET api_key_sha256 = $1 WHERE tenant_id = $2
