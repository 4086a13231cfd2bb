UPDATE due_work w
SET due_ms = r.due_ms, attempts = r.attempts, lease_owner = NULL, lease_until_ms = NULL
FROM json_to_recordset($1::json) AS r(kind text, aggregate_id text, due_ms bigint, attempts integer)
WHERE w.kind = r.kind AND w.aggregate_id = r.aggregate_id AND w.lease_owner = $2
