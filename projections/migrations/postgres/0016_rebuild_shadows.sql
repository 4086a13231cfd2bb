-- A rebuild on PostgreSQL writes a projection's tables afresh into shadow tables of schema `consentry_rebuild`,
-- created inside the rebuild's transaction (so nobody else sees them, and a failed rebuild leaves nothing
-- behind). A shadow has its live table's columns, defaults and checks, and only the key its upserts need while
-- it is filled: its other indexes are built once, at the end, which costs far less than keeping them up to date
-- row by row. Then it takes its live table's place, in the same transaction. The functions read the live
-- table's indexes, views and grants from the catalog, so the migrations stay the one place they are written.
CREATE SCHEMA IF NOT EXISTS consentry_rebuild;

-- Creates the empty shadow of `live`, with its primary key when `keyed` (the rebuild upserts into it) and
-- without (the rebuild only inserts: the key is built by `swap_in`).
CREATE OR REPLACE FUNCTION consentry_rebuild.create_shadow(live regclass, keyed boolean) RETURNS void
    LANGUAGE plpgsql AS
$$
DECLARE
    shadow text := format('consentry_rebuild.%I', (SELECT relname FROM pg_class WHERE oid = live));
    key    record;
BEGIN
    EXECUTE format('CREATE TABLE %s (LIKE %s INCLUDING ALL EXCLUDING INDEXES)', shadow, live);
    IF keyed THEN
        FOR key IN SELECT conname, pg_get_constraintdef(oid) AS definition
                   FROM pg_constraint
                   WHERE conrelid = live AND contype = 'p'
            LOOP
                EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', shadow, key.conname, key.definition);
            END LOOP;
    END IF;
END;
$$;

-- Puts the filled shadow of `live` in its place: builds the indexes and constraints the shadow lacks, gives it
-- the live table's grants and triggers, drops the live table (and the views over it, which are made again over the new one,
-- with their grants) and moves the shadow into the live table's schema under its name. The caller holds the
-- rebuild's transaction, so readers see the old table until it commits, and the lock taken here (by the drop)
-- lasts from the swap to that commit only.
CREATE OR REPLACE FUNCTION consentry_rebuild.swap_in(live regclass) RETURNS void
    LANGUAGE plpgsql AS
$$
DECLARE
    name      text;
    schema    text;
    shadow    regclass;
    index     record;
    grant_row record;
    trigger   record;
    view_row  record;
    views     jsonb := '[]';
BEGIN
    SELECT c.relname, n.nspname INTO name, schema
    FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = live;
    shadow := format('consentry_rebuild.%I', name)::regclass;

    FOR index IN SELECT pg_get_indexdef(i.indexrelid) AS definition, c.conname, pg_get_constraintdef(c.oid) AS constraint_definition
                 FROM pg_index i
                          LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = live
                 WHERE i.indrelid = live
                 ORDER BY c.conname IS NULL, i.indexrelid
        LOOP
            IF index.conname IS NOT NULL THEN
                IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = shadow AND conname = index.conname) THEN
                    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', shadow, index.conname,
                                   index.constraint_definition);
                END IF;
            ELSE
                -- `CREATE INDEX name ON schema.table USING ...`: the same index, on the shadow (whose schema
                -- it is created in, so its name is free there).
                EXECUTE replace(index.definition, format(' ON %I.%I USING ', schema, name),
                                format(' ON %s USING ', shadow));
            END IF;
        END LOOP;

    FOR grant_row IN SELECT grantee, privilege_type, is_grantable
                     FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = live))
        LOOP
            EXECUTE format('GRANT %s ON %s TO %s%s', grant_row.privilege_type, shadow,
                           CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE grant_row.grantee::regrole::text END,
                           CASE WHEN grant_row.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;

    -- `CREATE TRIGGER name ... ON schema.table ...`: the same trigger, on the shadow (`due_work` wakes the
    -- scheduler's workers with one).
    FOR trigger IN SELECT pg_get_triggerdef(oid) AS definition
                   FROM pg_trigger
                   WHERE tgrelid = live AND NOT tgisinternal
        LOOP
            EXECUTE replace(trigger.definition, format(' ON %I.%I ', schema, name), format(' ON %s ', shadow));
        END LOOP;

    FOR view_row IN SELECT DISTINCT v.oid, vn.nspname AS schema, v.relname AS name, pg_get_viewdef(v.oid) AS definition
                    FROM pg_depend d
                             JOIN pg_rewrite r ON r.oid = d.objid
                             JOIN pg_class v ON v.oid = r.ev_class
                             JOIN pg_namespace vn ON vn.oid = v.relnamespace
                    WHERE d.classid = 'pg_rewrite'::regclass
                      AND d.refclassid = 'pg_class'::regclass
                      AND d.refobjid = live
                      AND v.oid <> live
        LOOP
            views := views || jsonb_build_object('schema', view_row.schema, 'name', view_row.name,
                                                 'definition', view_row.definition,
                                                 'grants', (SELECT coalesce(jsonb_agg(to_jsonb(g)), '[]')
                                                            FROM aclexplode((SELECT relacl FROM pg_class WHERE oid = view_row.oid)) g));
            -- A view over this view makes the drop fail, and with it the rebuild: the live tables stay.
            EXECUTE format('DROP VIEW %I.%I', view_row.schema, view_row.name);
        END LOOP;

    EXECUTE format('DROP TABLE %s', live);
    EXECUTE format('ALTER TABLE %s SET SCHEMA %I', shadow, schema);

    FOR view_row IN SELECT value FROM jsonb_array_elements(views)
        LOOP
            EXECUTE format('CREATE VIEW %I.%I AS %s', view_row.value ->> 'schema', view_row.value ->> 'name',
                           view_row.value ->> 'definition');
            FOR grant_row IN SELECT (g ->> 'grantee')::oid AS grantee, g ->> 'privilege_type' AS privilege_type,
                                    (g ->> 'is_grantable')::boolean AS is_grantable
                             FROM jsonb_array_elements(view_row.value -> 'grants') g
                LOOP
                    EXECUTE format('GRANT %s ON %I.%I TO %s%s', grant_row.privilege_type,
                                   view_row.value ->> 'schema', view_row.value ->> 'name',
                                   CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE grant_row.grantee::regrole::text END,
                                   CASE WHEN grant_row.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
                END LOOP;
        END LOOP;
END;
$$;
