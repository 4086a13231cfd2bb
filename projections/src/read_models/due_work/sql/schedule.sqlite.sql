INSERT INTO due_work (kind, aggregate_id, since_ms, due_ms, attempts)
SELECT value ->> 'kind', value ->> 'aggregate_id', value ->> 'since_ms', value ->> 'due_ms', 0
FROM json_each($1)
WHERE true
ON CONFLICT (kind, aggregate_id) DO UPDATE SET
    since_ms = excluded.since_ms,
    due_ms   = excluded.due_ms,
    attempts = 0
