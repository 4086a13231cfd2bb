//! The event store on a [`Database`] of the storage seam: PostgreSQL (postgres-es's table, written with group
//! commit, see `group_commit`) or an SQLite file (sqlite-es). Both run in the plain event-store mode of cqrs-es; optimistic
//! concurrency comes from the events table's primary key.

use std::collections::HashMap;
use std::sync::Arc;

use crate::group_commit::GroupCommitRepository;
use async_trait::async_trait;
use consentry_domain::versioning::upcasters;
use consentry_store::Database;
use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{EventStoreAggregateContext, PersistedEventRepository, PersistedEventStore};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use sqlite_es::SqliteEventRepository;

/// The command side of aggregate `A` on `database`: group commit on PostgreSQL, sqlite-es on SQLite.
pub fn repository<A>(database: &Database, services: A::Services) -> Arc<dyn AggregateRepository<A>>
where
    A: Aggregate + 'static,
    A::Command: Send,
{
    match database {
        Database::Postgres(pool) => Arc::new(EventSourced::<A, _>::new(
            services,
            GroupCommitRepository::new(pool.clone()),
        )),
        Database::Sqlite(pool) => Arc::new(EventSourced::<A, _>::new(
            services,
            SqliteEventRepository::new(pool.clone()),
        )),
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

    /// Runs `command` on an aggregate that has no events yet, without reading the log: for an id the caller
    /// has just made. Its first event takes sequence 1, so if the aggregate exists after all the commit fails
    /// with `AggregateError::AggregateConflict` and stores nothing, exactly as [`Self::execute`] would on a race.
    async fn create(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>>;

    /// Every event of the aggregate, in sequence order.
    async fn events(&self, aggregate_id: &str) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>>;
}

/// cqrs-es's command handling (`CqrsFramework::execute_with_metadata` without query processors, which the
/// engine has none of: its read models follow the log) on a persisted event store.
struct EventSourced<A: Aggregate, R: PersistedEventRepository> {
    store: PersistedEventStore<R, A>,
    services: A::Services,
}

impl<A: Aggregate, R: PersistedEventRepository> EventSourced<A, R> {
    fn new(services: A::Services, repository: R) -> Self {
        Self {
            store: PersistedEventStore::new_event_store(repository).with_upcasters(upcasters()),
            services,
        }
    }

    /// Decides `command` on the aggregate in `context` and commits the events.
    async fn decide(
        &self,
        mut context: EventStoreAggregateContext<A>,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        let sink = EventSink::default();
        context
            .aggregate
            .handle(command, &self.services, &sink)
            .await
            .map_err(AggregateError::UserError)?;
        self.store.commit(sink.collect().await, context, metadata).await?;
        Ok(())
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
        let context = self.store.load_aggregate(aggregate_id).await?;
        self.decide(context, command, metadata).await
    }

    async fn create(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: HashMap<String, String>,
    ) -> Result<(), AggregateError<A::Error>> {
        let context = EventStoreAggregateContext {
            aggregate_id: aggregate_id.to_owned(),
            aggregate: A::default(),
            current_sequence: 0,
            current_snapshot: None,
        };
        self.decide(context, command, metadata).await
    }

    async fn events(&self, aggregate_id: &str) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        self.store.load_events(aggregate_id).await
    }
}
