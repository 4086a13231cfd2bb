-- Read model `accounts`: one row per bank account a consent gives access to. Filled by the account-information
-- events of a later issue; the table and its projection exist from now on so hosts can rely on them.
CREATE TABLE IF NOT EXISTS accounts
(
    account_id  TEXT PRIMARY KEY,
    consent_id  TEXT,
    tenant_id   TEXT,
    user_id     TEXT,
    bank        TEXT,
    iban_masked TEXT,
    currency    TEXT,
    name        TEXT,
    product     TEXT,
    updated_at  TEXT
) STRICT;

CREATE INDEX IF NOT EXISTS accounts_by_user ON accounts (tenant_id, user_id);
