-- `transactions` keyed by (consent, account resourceId, transaction id): ids are the bank's, unique per
-- account only. Status is booked, pending or vanished; category and flow come from the categoriser. Never
-- filled before this migration, so it is recreated.
DROP TABLE IF EXISTS transactions;

CREATE TABLE transactions
(
    consent_id     uuid        NOT NULL,
    account_id     text        NOT NULL,
    transaction_id text        NOT NULL,
    tenant_id      uuid        NOT NULL,
    user_id        uuid        NOT NULL,
    bank           text        NOT NULL,
    status         text        NOT NULL,
    booking_date   date,
    value_date     date,
    amount         numeric     NOT NULL,
    currency       text        NOT NULL,
    counterparty   text,
    description    text        NOT NULL,
    category       text        NOT NULL,
    flow           text        NOT NULL,
    observed_at    timestamptz NOT NULL,
    PRIMARY KEY (consent_id, account_id, transaction_id)
);

CREATE INDEX transactions_chronological ON transactions (tenant_id, user_id, booking_date);
