-- The feed's horizon: the oldest transaction of this database still running that may write events, or the
-- snapshot's xmax when none is. A feed reader reads only below it, so nothing can appear behind a position it
-- has read. Transactions of other databases cannot write this `events` table, and a projection rebuild's
-- (marked `application_name = 'consentry-rebuild'` before it takes a transaction id) writes read-model rows
-- but never events: both are skipped, as `pg_stat_activity` shows them. One definition for every statement
-- that reads the feed (`projections/src/sql/feed/`).
CREATE OR REPLACE FUNCTION consentry_feed_horizon() RETURNS xid8
    LANGUAGE sql
    STABLE AS
$$
SELECT coalesce(
    (SELECT min(running)
     FROM pg_snapshot_xip(pg_current_snapshot()) AS running
     WHERE running::text::bigint % 4294967296 NOT IN (
         SELECT backend_xid::text::bigint
         FROM pg_stat_activity
         WHERE backend_xid IS NOT NULL
           AND (datname IS DISTINCT FROM current_database() OR application_name = 'consentry-rebuild'))),
    pg_snapshot_xmax(pg_current_snapshot()))
$$;
