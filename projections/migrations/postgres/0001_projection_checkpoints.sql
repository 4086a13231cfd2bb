-- One row per projection: how far it has read the event feed, and its health. The runner updates the row in
-- the same transaction as the read-model changes of a batch, so a crash can neither apply an event twice nor
-- lose one; a runner locks the row (FOR UPDATE) for the batch, so two runners never apply the same batch.
CREATE TABLE IF NOT EXISTS projection_checkpoints
(
    projection     text PRIMARY KEY,
    transaction_id bigint      NOT NULL DEFAULT 0,
    position       bigint      NOT NULL DEFAULT 0,
    events_applied bigint      NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_error     text,
    last_error_at  timestamptz,
    failures       integer     NOT NULL DEFAULT 0
);
