CREATE UNIQUE INDEX temp.payments_shadow_key ON payments (payment_id)
