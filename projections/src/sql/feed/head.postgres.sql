WITH horizon AS (
    SELECT coalesce(
        (SELECT min(running)
         FROM pg_snapshot_xip(pg_current_snapshot()) AS running
         WHERE running::text::bigint % 4294967296 NOT IN (
             SELECT backend_xid::text::bigint
             FROM pg_stat_activity
             WHERE backend_xid IS NOT NULL
               AND (datname IS DISTINCT FROM current_database() OR application_name = 'consentry-rebuild'))),
        pg_snapshot_xmax(pg_current_snapshot())) AS bound
)
SELECT e.transaction_id::text::bigint, e.position
FROM events e, horizon
WHERE e.transaction_id < horizon.bound
ORDER BY e.transaction_id DESC, e.position DESC
LIMIT 1
