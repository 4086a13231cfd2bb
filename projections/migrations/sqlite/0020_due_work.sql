-- Read model `due_work`: what must happen later and when, derived from the log by the `due_work` projection
-- (one row per kind of work and aggregate), claimed by the scheduler's worker with a lease (owner, until).
-- Times are milliseconds since the Unix epoch on the engine's clock. The projection writes the schedule
-- columns only; the lease columns and `attempts` are the worker's.
CREATE TABLE IF NOT EXISTS due_work
(
    kind           TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    since_ms       INTEGER NOT NULL,
    due_ms         INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until_ms INTEGER,
    PRIMARY KEY (kind, aggregate_id)
) STRICT;

CREATE INDEX IF NOT EXISTS due_work_by_due ON due_work (due_ms);
