UPDATE idempotency_keys SET status = $3, content_type = $4, response_body = $5 WHERE tenant_id = $1 AND idempotency_key = $2 AND claimed_at_ms = $6
