CREATE UNIQUE INDEX temp.due_work_shadow_key ON due_work (kind, aggregate_id)
