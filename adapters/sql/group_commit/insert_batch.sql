WITH input AS (
    SELECT *
    FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[])
        WITH ORDINALITY
        AS i(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, first, ord)
),
firsts AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
    SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload::json, metadata::json
    FROM input
    WHERE first
    ORDER BY aggregate_type, aggregate_id
    ON CONFLICT DO NOTHING
    RETURNING aggregate_type, aggregate_id
),
rest AS (
    INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
    SELECT i.aggregate_type, i.aggregate_id, i.sequence, i.event_type, i.event_version, i.payload::json,
           i.metadata::json
    FROM input i
    JOIN firsts f ON f.aggregate_type = i.aggregate_type AND f.aggregate_id = i.aggregate_id
    WHERE NOT i.first
    ORDER BY i.ord
)
SELECT aggregate_type, aggregate_id FROM firsts
