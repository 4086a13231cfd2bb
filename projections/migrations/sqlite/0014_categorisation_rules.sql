-- A tenant's own categorisation rules, on top of the default ones: the rule in its JSON (serde) shape, its
-- priority copied out for ordering. The transactions and spending projections read them per batch and on a
-- rebuild, so a replay re-categorises history with the current rules.
CREATE TABLE IF NOT EXISTS categorisation_rules
(
    rule_id    TEXT PRIMARY KEY,
    tenant_id  TEXT    NOT NULL,
    priority   INTEGER NOT NULL,
    rule       TEXT    NOT NULL,
    created_at TEXT    NOT NULL
) STRICT;

CREATE INDEX IF NOT EXISTS categorisation_rules_by_tenant ON categorisation_rules (tenant_id, priority);
