-- The ordered event feed. SQLite runs one writer at a time, so a number drawn at insert is commit order: the
-- trigger gives each new event the next position and the time it was recorded. ALTER TABLE cannot add a column
-- with a non-constant default, hence the trigger rather than defaults.
ALTER TABLE events ADD COLUMN position INTEGER;
ALTER TABLE events ADD COLUMN recorded_at TEXT;

UPDATE events
SET position    = rowid,
    recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE position IS NULL;

CREATE UNIQUE INDEX IF NOT EXISTS events_feed_order ON events (position);

CREATE TRIGGER IF NOT EXISTS events_feed_position
    AFTER INSERT
    ON events
    FOR EACH ROW
BEGIN
    UPDATE events
    SET position    = (SELECT coalesce(max(position), 0) + 1 FROM events),
        recorded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE rowid = NEW.rowid;
END;
