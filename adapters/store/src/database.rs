//! Which database this is, and a pool of it: PostgreSQL when the URL is `postgres://…`, otherwise an SQLite
//! file (`consentry.db` in the working directory by default, created on first use).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::connection::DedicatedConnection;

/// The default store: an SQLite file in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "consentry.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL {0:?} is neither postgres://… nor sqlite:…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The kind of database: what a statement must be spelled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a `DATABASE_URL` names; no URL means the default SQLite file.
    pub fn of_url(url: Option<&str>) -> Result<Self, StoreError> {
        match url {
            None => Ok(Backend::Sqlite),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Backend::Postgres),
            Some(url) if url.starts_with("sqlite:") => Ok(Backend::Sqlite),
            Some(url) => Err(StoreError::UnsupportedUrl(url.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A connection pool to one of the two supported stores.
#[derive(Clone, Debug)]
pub enum Database {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Database {
    /// Connects to `url`, or to the default SQLite file when `url` is `None`.
    pub async fn connect(url: Option<&str>) -> Result<Self, StoreError> {
        match (Backend::of_url(url)?, url) {
            (Backend::Postgres, Some(url)) => {
                // No ping before every acquire: it doubled the round trips of each statement. A connection that
                // broke fails its statement, and the pool replaces it.
                let pool = PgPoolOptions::new()
                    .max_connections(20)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?;
                Ok(Database::Postgres(pool))
            }
            (_, Some(url)) => {
                let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
                Self::connect_sqlite(options).await
            }
            (_, None) => {
                let options = SqliteConnectOptions::new()
                    .filename(DEFAULT_SQLITE_FILE)
                    .create_if_missing(true);
                Self::connect_sqlite(options).await
            }
        }
    }

    async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        // WAL lets readers run beside the single writer; the busy timeout makes concurrent writers queue
        // instead of failing with SQLITE_BUSY.
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        Ok(Database::Sqlite(pool))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Database::Postgres(_) => Backend::Postgres,
            Database::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// A connection taken out of the pool for good: it closes when dropped, so a task dropped mid-transaction
    /// rolls its transaction back exactly as if the process had died.
    pub async fn dedicated(&self) -> Result<DedicatedConnection, sqlx::Error> {
        Ok(match self {
            Database::Postgres(pool) => DedicatedConnection::Postgres(pool.acquire().await?.detach()),
            Database::Sqlite(pool) => DedicatedConnection::Sqlite(pool.acquire().await?.detach()),
        })
    }

    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Evaluates `$body` with `$pool` bound to the pool of whichever store the [`Database`] `$database` is: the
/// body is written once and compiled for each store.
#[macro_export]
macro_rules! on_pool {
    ($database:expr, $pool:ident => $body:expr) => {
        match $database {
            $crate::Database::Postgres($pool) => $body,
            $crate::Database::Sqlite($pool) => $body,
        }
    };
}
