-- Read model `spending`: outgoing amounts per user, month (first day, YYYY-MM-01), category and currency
-- (income is kept apart by the categorisation of a later issue). Totals are exact decimal text.
CREATE TABLE IF NOT EXISTS spending
(
    tenant_id TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    month     TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    currency  TEXT    NOT NULL,
    total     TEXT    NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, month, category, currency)
) STRICT;
