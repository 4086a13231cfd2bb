-- Read model `consents`: one row per consent with its current status. Every column but the key is nullable
-- because a batch upserts only what its events changed. Times come from the events' metadata (the Clock).
CREATE TABLE IF NOT EXISTS consents
(
    consent_id        uuid PRIMARY KEY,
    tenant_id         uuid,
    user_id           uuid,
    bank              text,
    access            text,
    recurring         boolean,
    frequency_per_day integer,
    valid_until       date,
    status            text,
    status_reason     text,
    bank_consent_id   text,
    sca_approach      text,
    sca_redirect_url  text,
    renewal_of        uuid,
    renewed_by        uuid,
    requested_at      timestamptz,
    authorised_at     timestamptz,
    status_changed_at timestamptz,
    updated_at        timestamptz,
    event_count       bigint NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS consents_by_user ON consents (tenant_id, user_id, bank);
CREATE INDEX IF NOT EXISTS consents_by_expiry ON consents (valid_until) WHERE status = 'valid';

-- Days left are relative to today, so they are computed when read rather than stored.
CREATE OR REPLACE VIEW consent_overview AS
SELECT c.*, (c.valid_until - current_date) AS days_left
FROM consents c;
