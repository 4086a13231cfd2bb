WITH horizon AS (SELECT consentry_feed_horizon() AS bound)
SELECT e.transaction_id, e.position, e.aggregate_type, e.aggregate_id, e.sequence,
       e.event_type, e.event_version,
       CASE WHEN $4::text[] IS NULL OR e.aggregate_type = ANY($4) OR e.event_type = ANY($5)
            THEN e.payload::text END AS payload,
       CASE WHEN $4::text[] IS NULL OR e.aggregate_type = ANY($4) OR e.event_type = ANY($5)
            THEN e.metadata::text END AS metadata
FROM events e, horizon
WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2)
  AND e.transaction_id < horizon.bound
ORDER BY e.transaction_id, e.position
LIMIT $3
