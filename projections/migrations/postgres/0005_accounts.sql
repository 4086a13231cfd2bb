-- Read model `accounts`: one row per bank account a consent gives access to. Filled by the account-information
-- events of a later issue; the table and its projection exist from now on so hosts can rely on them.
CREATE TABLE IF NOT EXISTS accounts
(
    account_id   text PRIMARY KEY,
    consent_id   uuid,
    tenant_id    uuid,
    user_id      uuid,
    bank         text,
    iban_masked  text,
    currency     text,
    name         text,
    product      text,
    updated_at   timestamptz
);

CREATE INDEX IF NOT EXISTS accounts_by_user ON accounts (tenant_id, user_id);
