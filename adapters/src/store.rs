//! The event store: PostgreSQL (postgres-es's table, written with group commit, see `group_commit`) when
//! `DATABASE_URL` is a `postgres://` URL, otherwise an SQLite file (sqlite-es; `consentry.db` in the working
//! directory by default, created on first use). Both run in the plain event-store mode of cqrs-es; optimistic
//! concurrency comes from the events table's primary key.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::group_commit::GroupCommitRepository;
use async_trait::async_trait;
use consentry_domain::versioning::upcasters;
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventEnvelope, EventStore};
use sqlite_es::SqliteEventRepository;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::migrations::{self, Migration};

/// The default store: an SQLite file in the working directory.
pub const DEFAULT_SQLITE_FILE: &str = "consentry.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL {0:?} is neither postgres://… nor sqlite:…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Migrations a crate adds on top of the event log (the projections' read models, say), per store.
#[derive(Clone, Copy, Default)]
pub struct MigrationSet {
    pub postgres: &'static [Migration],
    pub sqlite: &'static [Migration],
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
        match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
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
            Some(url) if url.starts_with("sqlite:") => {
                let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
                Self::connect_sqlite(options).await
            }
            Some(url) => Err(StoreError::UnsupportedUrl(url.to_owned())),
            None => {
                Self::connect_sqlite(
                    SqliteConnectOptions::new()
                        .filename(DEFAULT_SQLITE_FILE)
                        .create_if_missing(true),
                )
                .await
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

    /// Applies the event-log migrations and `extra`, each once.
    pub async fn migrate(&self, extra: MigrationSet) -> Result<(), StoreError> {
        match self {
            Database::Postgres(pool) => migrations::run_postgres(pool, extra.postgres).await,
            Database::Sqlite(pool) => migrations::run_sqlite(pool, extra.sqlite).await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Database::Postgres(_) => "PostgreSQL",
            Database::Sqlite(_) => "SQLite",
        }
    }

    /// The command side of aggregate `A` on this store.
    pub fn repository<A>(&self, services: A::Services) -> Arc<dyn AggregateRepository<A>>
    where
        A: Aggregate + 'static,
        A::Command: Send,
    {
        match self {
            Database::Postgres(pool) => {
                let repository = GroupCommitRepository::new(pool.clone());
                Arc::new(EventSourced::<A, _>::new(services, move || repository.clone()))
            }
            Database::Sqlite(pool) => Arc::new(EventSourced::<A, _>::new(services, || {
                SqliteEventRepository::new(pool.clone())
            })),
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Postgres(pool) => pool.close().await,
            Database::Sqlite(pool) => pool.close().await,
        }
    }
}

/// Executes commands on, and loads, event-sourced aggregates of one type, whatever the store.
#[async_trait]
pub trait AggregateRepository<A: Aggregate>: Send + Sync {
    /// Loads the aggregate, runs `command` and commits its events with `metadata`. A concurrent commit to the
    /// same aggregate makes this fail with `AggregateError::AggregateConflict` and store nothing.
    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>>;

    /// Every event of the aggregate, in sequence order.
    async fn events(&self, aggregate_id: &str) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>>;
}

struct EventSourced<A: Aggregate, R: PersistedEventRepository> {
    commands: CqrsFramework<A, PersistedEventStore<R, A>>,
    reads: PersistedEventStore<R, A>,
}

impl<A: Aggregate, R: PersistedEventRepository> EventSourced<A, R> {
    fn new(services: A::Services, repository: impl Fn() -> R) -> Self {
        Self {
            commands: CqrsFramework::new(
                PersistedEventStore::new_event_store(repository()).with_upcasters(upcasters()),
                vec![],
                services,
            ),
            reads: PersistedEventStore::new_event_store(repository()).with_upcasters(upcasters()),
        }
    }
}

#[async_trait]
impl<A, R> AggregateRepository<A> for EventSourced<A, R>
where
    A: Aggregate + 'static,
    A::Command: Send,
    R: PersistedEventRepository + 'static,
{
    async fn execute(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        self.commands
            .execute_with_metadata(aggregate_id, command, metadata)
            .await
    }

    async fn events(&self, aggregate_id: &str) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.reads.load_events(aggregate_id).await
    }
}
