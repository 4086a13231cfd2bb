-- One row per projection: how far it has read the event feed, and its health. The runner updates the row in
-- the same transaction as the read-model changes of a batch, so a crash can neither apply an event twice nor
-- lose one; SQLite's single writer keeps two runners from applying the same batch.
CREATE TABLE IF NOT EXISTS projection_checkpoints
(
    projection     TEXT PRIMARY KEY,
    transaction_id INTEGER NOT NULL DEFAULT 0,
    position       INTEGER NOT NULL DEFAULT 0,
    events_applied INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_error     TEXT,
    last_error_at  TEXT,
    failures       INTEGER NOT NULL DEFAULT 0
) STRICT;
