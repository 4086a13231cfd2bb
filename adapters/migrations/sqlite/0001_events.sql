-- The event log: the plain event-store table of sqlite-es (one row per event, optimistic concurrency through
-- the primary key). Snapshots are not used: cqrs-es 0.5's snapshot modes apply new events twice.
CREATE TABLE IF NOT EXISTS events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;
