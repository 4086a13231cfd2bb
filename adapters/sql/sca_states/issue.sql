INSERT INTO sca_states (state, tenant_id, consent_id, subject, issued_at_ms) VALUES ($1, $2, $3, $4, $5)
