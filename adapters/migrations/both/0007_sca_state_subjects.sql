-- A redirect `state` binds one consent or one payment: `subject` says which (`consent_id` then holds the
-- payment's id). States issued before this column bound consents.
ALTER TABLE sca_states ADD COLUMN subject text NOT NULL DEFAULT 'consent'
