-- `spending` per (tenant, user, month YYYY-MM, category, currency, flow): spending and income apart, each the
-- sum of absolute amounts of booked transactions. Totals are kept in millionths of the currency unit, an exact
-- integer both stores add without rounding (SQLite has no exact decimal arithmetic). Never filled before this
-- migration, so it is recreated.
DROP TABLE IF EXISTS spending;

CREATE TABLE spending
(
    tenant_id    uuid   NOT NULL,
    user_id      uuid   NOT NULL,
    month        text   NOT NULL,
    category     text   NOT NULL,
    currency     text   NOT NULL,
    flow         text   NOT NULL,
    total_micros bigint NOT NULL,
    count        bigint NOT NULL,
    PRIMARY KEY (tenant_id, user_id, month, category, currency, flow)
);
