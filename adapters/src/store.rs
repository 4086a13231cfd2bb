//! The event store on a [`Database`] of the storage seam: PostgreSQL (postgres-es's table, written with group
//! commit, see `group_commit`) or an SQLite file (sqlite-es). Both run in the plain event-store mode of cqrs-es; optimistic
//! concurrency comes from the events table's primary key.

use std::collections::HashMap;
use std::sync::Arc;

use crate::group_commit::GroupCommitRepository;
use async_trait::async_trait;
use consentry_domain::versioning::upcasters;
use consentry_store::Database;
use cqrs_es::persist::{PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventEnvelope, EventStore};
use sqlite_es::SqliteEventRepository;

/// The command side of aggregate `A` on `database`: group commit on PostgreSQL, sqlite-es on SQLite.
pub fn repository<A>(database: &Database, services: A::Services) -> Arc<dyn AggregateRepository<A>>
where
    A: Aggregate + 'static,
    A::Command: Send,
{
    match database {
        Database::Postgres(pool) => {
            let repository = GroupCommitRepository::new(pool.clone());
            Arc::new(EventSourced::<A, _>::new(services, move || repository.clone()))
        }
        Database::Sqlite(pool) => Arc::new(EventSourced::<A, _>::new(services, || {
            SqliteEventRepository::new(pool.clone())
        })),
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
