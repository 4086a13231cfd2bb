UPDATE due_work w
SET lease_owner = $1, lease_until_ms = $2
FROM (SELECT kind, aggregate_id
      FROM due_work
      WHERE kind IN (SELECT json_array_elements_text($3::json))
        AND due_ms <= $4
        AND (lease_until_ms IS NULL OR lease_until_ms <= $4)
      ORDER BY due_ms
      LIMIT $5
      FOR UPDATE SKIP LOCKED) AS due
WHERE w.kind = due.kind AND w.aggregate_id = due.aggregate_id
RETURNING w.kind, w.aggregate_id, w.since_ms, w.due_ms, w.attempts
