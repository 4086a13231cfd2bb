-- `balances` keyed by (consent, account resourceId, balance type), with the owner for tenant-scoped reads.
-- Never filled before this migration, so it is recreated. `observed_at` is when the engine saw the balance.
DROP TABLE IF EXISTS balances;

CREATE TABLE balances
(
    consent_id     uuid        NOT NULL,
    account_id     text        NOT NULL,
    balance_type   text        NOT NULL,
    tenant_id      uuid        NOT NULL,
    user_id        uuid        NOT NULL,
    amount         numeric     NOT NULL,
    currency       text        NOT NULL,
    reference_date date,
    observed_at    timestamptz NOT NULL,
    PRIMARY KEY (consent_id, account_id, balance_type)
);

CREATE INDEX balances_by_user ON balances (tenant_id, user_id);
