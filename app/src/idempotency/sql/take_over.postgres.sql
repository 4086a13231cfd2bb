UPDATE idempotency_keys SET request_sha256 = $3, claimed_at_ms = $4, status = NULL, content_type = NULL, response_body = NULL WHERE tenant_id = $1 AND idempotency_key = $2 AND claimed_at_ms = $5
