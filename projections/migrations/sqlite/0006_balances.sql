-- Read model `balances`: the latest balance of each type (closingBooked, interimAvailable, ...) per account.
-- Filled by a later issue, alongside `accounts` in the same projection. Amounts are decimal text.
CREATE TABLE IF NOT EXISTS balances
(
    account_id     TEXT NOT NULL,
    balance_type   TEXT NOT NULL,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    reference_date TEXT,
    updated_at     TEXT,
    PRIMARY KEY (account_id, balance_type)
) STRICT;
