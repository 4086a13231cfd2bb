-- `accounts` keyed by (consent, account resourceId): a bank's resourceId is unique per consent only. The table
-- was never filled before this migration, so it is recreated. The IBAN is stored in full (it is data); it is
-- never logged.
DROP TABLE IF EXISTS accounts;

CREATE TABLE accounts
(
    consent_id  uuid        NOT NULL,
    account_id  text        NOT NULL,
    tenant_id   uuid        NOT NULL,
    user_id     uuid        NOT NULL,
    bank        text        NOT NULL,
    iban        text,
    currency    text        NOT NULL,
    name        text,
    product     text,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    PRIMARY KEY (consent_id, account_id)
);

CREATE INDEX accounts_by_user ON accounts (tenant_id, user_id);
