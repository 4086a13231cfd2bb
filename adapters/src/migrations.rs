//! Runs the `.sql` files under `migrations/{postgres,sqlite}` once each, in name order, at start. Several
//! engine instances may start at once: on PostgreSQL an advisory lock serialises them, on SQLite the write
//! transaction does.

use sqlx::{PgPool, SqlitePool};

use crate::StoreError;

/// A migration: its file name (the version) and its SQL.
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(Migration { name: $file, sql: include_str!(concat!("../migrations/", $dir, "/", $file)) }),*]
    };
}

pub const POSTGRES: &[Migration] = migrations!(
    "postgres": "0001_events.sql",
    "0002_event_feed.sql",
    "0004_sca_states.sql",
    "0005_tenants.sql",
    "0006_event_feed_notify.sql"
);
pub const SQLITE: &[Migration] =
    migrations!("sqlite": "0001_events.sql", "0002_event_feed.sql", "0004_sca_states.sql", "0005_tenants.sql");

/// An arbitrary fixed key for `pg_advisory_xact_lock`, so that concurrent starters migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e73_656e_7472;

const CREATE_LEDGER: &str =
    "CREATE TABLE IF NOT EXISTS consentry_migrations (name text PRIMARY KEY, applied_at text NOT NULL)";

pub async fn run_postgres(pool: &PgPool, extra: &[Migration]) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    sqlx::raw_sql(CREATE_LEDGER).execute(&mut *tx).await?;
    for migration in POSTGRES.iter().chain(extra) {
        let applied: Option<(String,)> = sqlx::query_as("SELECT name FROM consentry_migrations WHERE name = $1")
            .bind(migration.name)
            .fetch_optional(&mut *tx)
            .await?;
        if applied.is_none() {
            sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO consentry_migrations (name, applied_at) VALUES ($1, now()::text)")
                .bind(migration.name)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub async fn run_sqlite(pool: &SqlitePool, extra: &[Migration]) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    // IMMEDIATE takes the write lock up front, so two starters cannot both decide a migration is missing.
    sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    let result = async {
        sqlx::raw_sql(CREATE_LEDGER).execute(&mut *conn).await?;
        for migration in SQLITE.iter().chain(extra) {
            let applied: Option<(String,)> = sqlx::query_as("SELECT name FROM consentry_migrations WHERE name = ?")
                .bind(migration.name)
                .fetch_optional(&mut *conn)
                .await?;
            if applied.is_none() {
                sqlx::raw_sql(migration.sql).execute(&mut *conn).await?;
                sqlx::query("INSERT INTO consentry_migrations (name, applied_at) VALUES (?, datetime('now'))")
                    .bind(migration.name)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Ok::<(), sqlx::Error>(())
    }
    .await;
    match result {
        Ok(()) => {
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            Ok(())
        }
        Err(error) => {
            sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await?;
            Err(error.into())
        }
    }
}
