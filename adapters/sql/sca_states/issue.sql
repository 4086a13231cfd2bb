INSERT INTO sca_states (state, tenant_id, consent_id, issued_at_ms) VALUES ($1, $2, $3, $4)
