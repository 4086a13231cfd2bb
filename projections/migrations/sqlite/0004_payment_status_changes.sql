-- Read model `payment_status_changes`: every status a payment reached, with the time it was observed. Keyed by
-- the event's sequence in its payment, so replaying an event cannot add a row twice.
CREATE TABLE IF NOT EXISTS payment_status_changes
(
    payment_id TEXT    NOT NULL,
    sequence   INTEGER NOT NULL,
    status     TEXT    NOT NULL,
    changed_at TEXT    NOT NULL,
    PRIMARY KEY (payment_id, sequence)
) STRICT;
