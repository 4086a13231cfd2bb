-- Read model `payment_status_changes`: every status a payment reached, with the time it was observed. Keyed by
-- the event's sequence in its payment, so replaying an event cannot add a row twice.
CREATE TABLE IF NOT EXISTS payment_status_changes
(
    payment_id uuid        NOT NULL,
    sequence   bigint      NOT NULL,
    status     text        NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (payment_id, sequence)
);
