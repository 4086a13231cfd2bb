-- `spending` per (tenant, user, month YYYY-MM, category, currency, flow): spending and income apart, each the
-- sum of absolute amounts of booked transactions. Totals are kept in millionths of the currency unit, an exact
-- integer both stores add without rounding (SQLite has no exact decimal arithmetic). Never filled before this
-- migration, so it is recreated.
DROP TABLE IF EXISTS spending;

CREATE TABLE spending
(
    tenant_id    TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    flow         TEXT    NOT NULL,
    total_micros INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, month, category, currency, flow)
) STRICT;
