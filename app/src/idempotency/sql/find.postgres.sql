SELECT request_sha256, claimed_at_ms, status, content_type, response_body FROM idempotency_keys WHERE tenant_id = $1 AND idempotency_key = $2
