UPDATE due_work
SET due_ms = r.due_ms, attempts = r.attempts, lease_owner = NULL, lease_until_ms = NULL
FROM (SELECT value ->> 'kind' AS kind, value ->> 'aggregate_id' AS aggregate_id, value ->> 'due_ms' AS due_ms,
             value ->> 'attempts' AS attempts
      FROM json_each($1)) AS r
WHERE due_work.kind = r.kind AND due_work.aggregate_id = r.aggregate_id AND due_work.lease_owner = $2
