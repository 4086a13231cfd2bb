-- Whose a consent is (tenant, user, bank), as its ConsentRequested event said. The account-information
-- projections follow AccountData events, which name only the consent; each of them keeps this map as it meets
-- ConsentRequested events, so none depends on another projection's progress. The facts never change, so the
-- table is shared and never emptied by a rebuild.
CREATE TABLE IF NOT EXISTS consent_owners
(
    consent_id TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    bank       TEXT NOT NULL
) STRICT;
