CREATE UNIQUE INDEX temp.payment_status_changes_shadow_key ON payment_status_changes (payment_id, sequence)
