UPDATE sca_states SET consumed_at_ms = $2
WHERE state = $1 AND consumed_at_ms IS NULL AND issued_at_ms >= $3
RETURNING tenant_id, consent_id, subject
