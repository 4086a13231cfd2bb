-- Tenants of this engine and the SHA-256 of each one's API key (the key itself is shown once, never stored).
CREATE TABLE IF NOT EXISTS tenants
(
    tenant_id      text PRIMARY KEY,
    name           text   NOT NULL,
    api_key_sha256 text   NOT NULL UNIQUE,
    created_at_ms  bigint NOT NULL
);
