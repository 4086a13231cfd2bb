DELETE FROM due_work
WHERE lease_owner = $2
  AND (kind, aggregate_id) IN (SELECT value ->> 'kind', value ->> 'aggregate_id' FROM json_each($1))
