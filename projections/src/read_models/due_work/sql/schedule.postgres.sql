INSERT INTO due_work (kind, aggregate_id, since_ms, due_ms, attempts)
SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::bigint[]), unnest($4::bigint[]), 0
ON CONFLICT (kind, aggregate_id) DO UPDATE SET
    since_ms = excluded.since_ms,
    due_ms   = excluded.due_ms,
    attempts = 0
