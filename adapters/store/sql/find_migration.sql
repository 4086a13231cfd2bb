SELECT name FROM consentry_migrations WHERE name = $1
