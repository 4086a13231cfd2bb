DELETE FROM due_work w
USING json_to_recordset($1::json) AS r(kind text, aggregate_id text)
WHERE w.kind = r.kind AND w.aggregate_id = r.aggregate_id AND w.lease_owner = $2
