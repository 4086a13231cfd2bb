UPDATE due_work
SET lease_owner = $1, lease_until_ms = $2
WHERE rowid IN (SELECT rowid
                FROM due_work
                WHERE kind IN (SELECT value FROM json_each($3))
                  AND due_ms <= $4
                  AND (lease_until_ms IS NULL OR lease_until_ms <= $4)
                ORDER BY due_ms
                LIMIT $5)
RETURNING kind, aggregate_id, since_ms, due_ms, attempts
