//! The one migration runner: every crate's `.sql` migrations are applied once each, in the order given, at
//! start, and recorded in the `consentry_migrations` ledger. Several engine instances may start at once: on
//! PostgreSQL an advisory lock serialises them, on SQLite the immediate (write-locking) transaction does.

use sqlx::Connection as _;

use crate::{on_conn, Backend, Conn, Database, Statement, StoreError};

/// A migration: its ledger name and its SQL, one text both databases accept or one per database. A migration
/// that only one database needs has no text for the other.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    name: &'static str,
    postgres: Option<&'static str>,
    sqlite: Option<&'static str>,
}

impl Migration {
    pub const fn both(name: &'static str, sql: &'static str) -> Self {
        Self {
            name,
            postgres: Some(sql),
            sqlite: Some(sql),
        }
    }

    pub const fn each(name: &'static str, postgres: &'static str, sqlite: &'static str) -> Self {
        Self {
            name,
            postgres: Some(postgres),
            sqlite: Some(sqlite),
        }
    }

    pub const fn postgres_only(name: &'static str, sql: &'static str) -> Self {
        Self {
            name,
            postgres: Some(sql),
            sqlite: None,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its text for `backend`; `None` when that database does not need it.
    pub fn sql(&self, backend: Backend) -> Option<&'static str> {
        match backend {
            Backend::Postgres => self.postgres,
            Backend::Sqlite => self.sqlite,
        }
    }
}

const CREATE_LEDGER: Statement = Statement::both(include_str!("../sql/create_migration_ledger.sql"));
const FIND: Statement = Statement::both(include_str!("../sql/find_migration.sql"));
const RECORD: Statement = Statement::each(
    include_str!("../sql/record_migration.postgres.sql"),
    include_str!("../sql/record_migration.sqlite.sql"),
);
const LOCK_POSTGRES: &str = include_str!("../sql/lock_migrations.postgres.sql");
const BEGIN_IMMEDIATE_SQLITE: &str = include_str!("../sql/begin_immediate.sqlite.sql");

/// An arbitrary fixed key for `pg_advisory_xact_lock`, so that concurrent starters migrate one at a time.
const MIGRATION_LOCK_KEY: i64 = 0x636f_6e73_656e_7472;

impl Database {
    /// Applies every migration of `sets`, in order, each once.
    pub async fn migrate(&self, sets: &[&[Migration]]) -> Result<(), StoreError> {
        let migrations = sets.iter().flat_map(|set| set.iter());
        match self {
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(LOCK_POSTGRES)
                    .bind(MIGRATION_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                apply(Conn::Postgres(&mut tx), migrations).await?;
                tx.commit().await?;
            }
            Database::Sqlite(pool) => {
                // IMMEDIATE takes the write lock up front, so two starters cannot both decide a migration is
                // missing.
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with(BEGIN_IMMEDIATE_SQLITE).await?;
                apply(Conn::Sqlite(&mut tx), migrations).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

async fn apply(mut conn: Conn<'_>, migrations: impl Iterator<Item = &Migration>) -> Result<(), sqlx::Error> {
    let backend = conn.backend();
    conn.run_script(CREATE_LEDGER.sql(backend)).await?;
    for migration in migrations {
        let Some(sql) = migration.sql(backend) else {
            continue;
        };
        let find = FIND.sql(backend);
        let applied: Option<(String,)> =
            on_conn!(&mut conn, c => sqlx::query_as(find).bind(migration.name).fetch_optional(&mut **c).await)?;
        if applied.is_none() {
            conn.run_script(sql).await?;
            let record = RECORD.sql(backend);
            on_conn!(&mut conn, c => sqlx::query(record).bind(migration.name).execute(&mut **c).await.map(|_| ()))?;
        }
    }
    Ok(())
}
