-- `accounts` keyed by (consent, account resourceId): a bank's resourceId is unique per consent only. The table
-- was never filled before this migration, so it is recreated. The IBAN is stored in full (it is data); it is
-- never logged.
DROP TABLE IF EXISTS accounts;

CREATE TABLE accounts
(
    consent_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    bank       TEXT NOT NULL,
    iban       TEXT,
    currency   TEXT NOT NULL,
    name       TEXT,
    product    TEXT,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (consent_id, account_id)
) STRICT;

CREATE INDEX accounts_by_user ON accounts (tenant_id, user_id);
