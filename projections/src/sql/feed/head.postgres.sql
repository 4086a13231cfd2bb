WITH horizon AS (SELECT consentry_feed_horizon() AS bound)
SELECT e.transaction_id::text::bigint, e.position
FROM events e, horizon
WHERE e.transaction_id < horizon.bound
ORDER BY e.transaction_id DESC, e.position DESC
LIMIT 1
