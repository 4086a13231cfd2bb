CREATE TABLE IF NOT EXISTS consentry_migrations (name text PRIMARY KEY, applied_at text NOT NULL)
