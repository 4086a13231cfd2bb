-- Read model `transactions`: one row per bank transaction, across all of a user's banks; the index gives the
-- chronological merge. Filled by a later issue (a booked transaction replaces its pending row).
CREATE TABLE IF NOT EXISTS transactions
(
    transaction_id TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    tenant_id      TEXT,
    user_id        TEXT,
    bank           TEXT,
    booking_status TEXT NOT NULL,
    booking_date   TEXT,
    value_date     TEXT,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    counterparty   TEXT,
    remittance     TEXT,
    category       TEXT,
    updated_at     TEXT
) STRICT;

CREATE INDEX IF NOT EXISTS transactions_chronological ON transactions (tenant_id, user_id, booking_date, transaction_id);
