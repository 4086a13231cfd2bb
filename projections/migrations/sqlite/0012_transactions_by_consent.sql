-- `transactions` keyed by (consent, account resourceId, transaction id): ids are the bank's, unique per
-- account only. Status is booked, pending or vanished; category and flow come from the categoriser. Never
-- filled before this migration, so it is recreated. Amounts are exact decimal text.
DROP TABLE IF EXISTS transactions;

CREATE TABLE transactions
(
    consent_id     TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    bank           TEXT NOT NULL,
    status         TEXT NOT NULL,
    booking_date   TEXT,
    value_date     TEXT,
    amount         TEXT NOT NULL,
    currency       TEXT NOT NULL,
    counterparty   TEXT,
    description    TEXT NOT NULL,
    category       TEXT NOT NULL,
    flow           TEXT NOT NULL,
    observed_at    TEXT NOT NULL,
    PRIMARY KEY (consent_id, account_id, transaction_id)
) STRICT;

CREATE INDEX transactions_chronological ON transactions (tenant_id, user_id, booking_date);
