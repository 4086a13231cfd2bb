INSERT INTO consentry_migrations (name, applied_at) VALUES ($1, datetime('now'))
