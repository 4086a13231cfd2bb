-- Read model `spending`: outgoing amounts per user, month, category and currency (income is kept apart by the
-- categorisation of a later issue). Totals are exact decimals.
CREATE TABLE IF NOT EXISTS spending
(
    tenant_id uuid    NOT NULL,
    user_id   uuid    NOT NULL,
    month     date    NOT NULL,
    category  text    NOT NULL,
    currency  text    NOT NULL,
    total     numeric NOT NULL,
    count     bigint  NOT NULL,
    PRIMARY KEY (tenant_id, user_id, month, category, currency)
);
