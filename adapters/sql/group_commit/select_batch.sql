SELECT e.aggregate_type, e.aggregate_id, e.sequence, e.event_type, e.event_version, e.payload, e.metadata
FROM unnest($2::text[]) AS ids(aggregate_id)
CROSS JOIN LATERAL (
    SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
    FROM events
    WHERE aggregate_type = $1 AND aggregate_id = ids.aggregate_id
    OFFSET 0
) AS e
