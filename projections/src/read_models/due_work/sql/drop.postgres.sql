DELETE FROM due_work w
USING (SELECT unnest($1::text[]) AS kind, unnest($2::text[]) AS aggregate_id) AS r
WHERE w.kind = r.kind AND w.aggregate_id = r.aggregate_id
