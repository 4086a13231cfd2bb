-- Read model `payments`: one row per payment order with its current phase and ISO 20022 status. Every column
-- but the key is nullable because a batch upserts only what its events changed. Amounts are decimal text.
CREATE TABLE IF NOT EXISTS payments
(
    payment_id             TEXT PRIMARY KEY,
    tenant_id              TEXT,
    user_id                TEXT,
    bank                   TEXT,
    service                TEXT,
    product                TEXT,
    creditor_name          TEXT,
    amount                 TEXT,
    currency               TEXT,
    idempotency_key        TEXT,
    phase                  TEXT,
    status                 TEXT,
    bank_payment_id        TEXT,
    sca_redirect_url       TEXT,
    attempts               INTEGER,
    cancellation_requested INTEGER,
    requested_at           TEXT,
    status_changed_at      TEXT,
    updated_at             TEXT,
    event_count            INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX IF NOT EXISTS payments_by_user ON payments (tenant_id, user_id);
CREATE INDEX IF NOT EXISTS payments_by_status ON payments (status);
