-- The ordered event feed. Every event records the id of the transaction that wrote it and a sequence number
-- drawn at insert. Readers order by (transaction_id, position) and read only transactions older than the oldest
-- one still running (pg_snapshot_xmin), so an event can never appear later below a position already read, even
-- when concurrent writers commit out of order. postgres-es names its INSERT columns, so these defaulted columns
-- are filled without its knowledge.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN IF NOT EXISTS position       bigserial,
    ADD COLUMN IF NOT EXISTS recorded_at    timestamptz NOT NULL DEFAULT now();

CREATE INDEX IF NOT EXISTS events_feed_order ON events (transaction_id, position);
