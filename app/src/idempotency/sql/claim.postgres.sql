INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_sha256, claimed_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
