CREATE UNIQUE INDEX temp.consents_shadow_key ON consents (consent_id)
