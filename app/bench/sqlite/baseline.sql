-- The cqrs-es side of `consentry bench replay`: a sample of the seeded events in sqlite-es's plain events
-- table shape, and the views its GenericQuery keeps (one JSON document per aggregate).
CREATE TABLE IF NOT EXISTS baseline_events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE TABLE IF NOT EXISTS baseline_consent_view
(
    view_id text PRIMARY KEY,
    version integer CHECK (version >= 0) NOT NULL,
    payload text                         NOT NULL
);

CREATE TABLE IF NOT EXISTS baseline_payment_view
(
    view_id text PRIMARY KEY,
    version integer CHECK (version >= 0) NOT NULL,
    payload text                         NOT NULL
);
