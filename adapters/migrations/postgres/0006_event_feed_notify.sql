-- Wakes live feed readers (LISTEN consentry_events) when a statement adds events, so projections follow the
-- log as it grows rather than on a timer. One notification per statement; PostgreSQL folds identical ones
-- within a transaction and delivers them at commit. A notifying commit takes a global lock, which is cheap
-- here because the group-commit repository commits many commands per transaction.
CREATE OR REPLACE FUNCTION consentry_events_notify() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    PERFORM pg_notify('consentry_events', '');
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS events_notify ON events;
CREATE TRIGGER events_notify
    AFTER INSERT
    ON events
    FOR EACH STATEMENT
EXECUTE FUNCTION consentry_events_notify();
