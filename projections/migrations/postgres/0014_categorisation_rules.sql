-- A tenant's own categorisation rules, on top of the default ones: the rule in its JSON (serde) shape, its
-- priority copied out for ordering. The transactions and spending projections read them per batch and on a
-- rebuild, so a replay re-categorises history with the current rules.
CREATE TABLE IF NOT EXISTS categorisation_rules
(
    rule_id    uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL,
    priority   integer     NOT NULL,
    rule       text        NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS categorisation_rules_by_tenant ON categorisation_rules (tenant_id, priority);
