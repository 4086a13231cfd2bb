INSERT INTO due_work (kind, aggregate_id, since_ms, due_ms, attempts)
SELECT kind, aggregate_id, since_ms, due_ms, 0
FROM json_to_recordset($1::json) AS r(kind text, aggregate_id text, since_ms bigint, due_ms bigint)
ON CONFLICT (kind, aggregate_id) DO UPDATE SET
    since_ms = excluded.since_ms,
    due_ms   = excluded.due_ms,
    attempts = 0
