-- Read model `due_work`: what must happen later and when, derived from the log by the `due_work` projection
-- (one row per kind of work and aggregate), claimed by the scheduler's workers with a lease (owner, until) so
-- any number of instances share it. Times are milliseconds since the Unix epoch on the engine's clock. The
-- projection writes the schedule columns only; the lease columns and `attempts` are the workers'.
CREATE TABLE IF NOT EXISTS due_work
(
    kind           TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    since_ms       BIGINT NOT NULL,
    due_ms         BIGINT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until_ms BIGINT,
    PRIMARY KEY (kind, aggregate_id)
);

CREATE INDEX IF NOT EXISTS due_work_by_due ON due_work (due_ms);

-- Wakes the workers (LISTEN consentry_due_work) when the projection adds or reschedules work; the workers' own
-- lease updates are plain UPDATEs and notify nobody.
CREATE OR REPLACE FUNCTION consentry_due_work_notify() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('consentry_due_work', '');
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS due_work_notify ON due_work;
CREATE TRIGGER due_work_notify
    AFTER INSERT
    ON due_work
    FOR EACH STATEMENT
EXECUTE FUNCTION consentry_due_work_notify();
