-- The answers to requests sent with an Idempotency-Key, per tenant: claimed (status NULL) before the request
-- runs, completed with the answer after. A key is kept at least 24 hours after its first use.
CREATE TABLE IF NOT EXISTS idempotency_keys
(
    tenant_id       text   NOT NULL,
    idempotency_key text   NOT NULL,
    request_sha256  text   NOT NULL,
    claimed_at_ms   bigint NOT NULL,
    status          integer,
    content_type    text,
    response_body   text,
    PRIMARY KEY (tenant_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_claimed ON idempotency_keys (claimed_at_ms);
