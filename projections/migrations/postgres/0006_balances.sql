-- Read model `balances`: the latest balance of each type (closingBooked, interimAvailable, ...) per account.
-- Filled by a later issue, alongside `accounts` in the same projection.
CREATE TABLE IF NOT EXISTS balances
(
    account_id     text    NOT NULL,
    balance_type   text    NOT NULL,
    amount         numeric NOT NULL,
    currency       text    NOT NULL,
    reference_date date,
    updated_at     timestamptz,
    PRIMARY KEY (account_id, balance_type)
);
