-- Read model `consents`: one row per consent with its current status. Every column but the key is nullable
-- because a batch upserts only what its events changed. Times come from the events' metadata (the Clock).
CREATE TABLE IF NOT EXISTS consents
(
    consent_id        TEXT PRIMARY KEY,
    tenant_id         TEXT,
    user_id           TEXT,
    bank              TEXT,
    access            TEXT,
    recurring         INTEGER,
    frequency_per_day INTEGER,
    valid_until       TEXT,
    status            TEXT,
    status_reason     TEXT,
    bank_consent_id   TEXT,
    sca_approach      TEXT,
    sca_redirect_url  TEXT,
    renewal_of        TEXT,
    renewed_by        TEXT,
    requested_at      TEXT,
    authorised_at     TEXT,
    status_changed_at TEXT,
    updated_at        TEXT,
    event_count       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX IF NOT EXISTS consents_by_user ON consents (tenant_id, user_id, bank);
CREATE INDEX IF NOT EXISTS consents_by_expiry ON consents (valid_until) WHERE status = 'valid';

-- Days left are relative to today, so they are computed when read rather than stored.
CREATE VIEW IF NOT EXISTS consent_overview AS
SELECT c.*, CAST(julianday(c.valid_until) - julianday(date('now')) AS INTEGER) AS days_left
FROM consents c;
