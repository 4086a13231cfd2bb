-- Read model `payments`: one row per payment order with its current phase and ISO 20022 status. Every column
-- but the key is nullable because a batch upserts only what its events changed.
CREATE TABLE IF NOT EXISTS payments
(
    payment_id             uuid PRIMARY KEY,
    tenant_id              uuid,
    user_id                uuid,
    bank                   text,
    service                text,
    product                text,
    creditor_name          text,
    amount                 numeric,
    currency               text,
    idempotency_key        uuid,
    phase                  text,
    status                 text,
    bank_payment_id        text,
    sca_redirect_url       text,
    attempts               integer,
    cancellation_requested boolean,
    requested_at           timestamptz,
    status_changed_at      timestamptz,
    updated_at             timestamptz,
    event_count            bigint NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS payments_by_user ON payments (tenant_id, user_id);
CREATE INDEX IF NOT EXISTS payments_by_status ON payments (status);
