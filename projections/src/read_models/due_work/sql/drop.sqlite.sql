DELETE FROM due_work
WHERE (kind, aggregate_id) IN (SELECT value ->> 'kind', value ->> 'aggregate_id' FROM json_each($1))
