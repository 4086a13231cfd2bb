INSERT INTO tenants (tenant_id, name, api_key_sha256, created_at_ms) VALUES ($1, $2, $3, $4)
