-- Read model `transactions`: one row per bank transaction, across all of a user's banks; the index gives the
-- chronological merge. Filled by a later issue (a booked transaction replaces its pending row).
CREATE TABLE IF NOT EXISTS transactions
(
    transaction_id   text PRIMARY KEY,
    account_id       text    NOT NULL,
    tenant_id        uuid,
    user_id          uuid,
    bank             text,
    booking_status   text    NOT NULL,
    booking_date     date,
    value_date       date,
    amount           numeric NOT NULL,
    currency         text    NOT NULL,
    counterparty     text,
    remittance       text,
    category         text,
    updated_at       timestamptz
);

CREATE INDEX IF NOT EXISTS transactions_chronological ON transactions (tenant_id, user_id, booking_date, transaction_id);
