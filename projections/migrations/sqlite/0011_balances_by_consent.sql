-- `balances` keyed by (consent, account resourceId, balance type), with the owner for tenant-scoped reads.
-- Never filled before this migration, so it is recreated. Amounts are exact decimal text.
DROP TABLE IF EXISTS balances;

CREATE TABLE balances
(
    consent_id     TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    balance_type   TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    reference_date TEXT,
    observed_at    TEXT NOT NULL,
    PRIMARY KEY (consent_id, account_id, balance_type)
) STRICT;

CREATE INDEX balances_by_user ON balances (tenant_id, user_id);
