DELETE FROM idempotency_keys WHERE tenant_id = $1 AND claimed_at_ms < $2
