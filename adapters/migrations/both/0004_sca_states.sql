-- The `state` of each SCA redirect: an unguessable token bound to one consent, used once. A callback whose
-- state is unknown, already used or too old is refused.
CREATE TABLE IF NOT EXISTS sca_states
(
    state          text PRIMARY KEY,
    tenant_id      text   NOT NULL,
    consent_id     text   NOT NULL,
    issued_at_ms   bigint NOT NULL,
    consumed_at_ms bigint
);
