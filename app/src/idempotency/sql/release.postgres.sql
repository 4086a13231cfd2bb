DELETE FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2 AND claimed_at_ms = $3 AND status IS NULL
