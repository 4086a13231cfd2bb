//! Group commit for the PostgreSQL event log.
//!
//! postgres-es spends four round trips on a one-event command (select, begin, insert, commit) and one WAL flush
//! per command. This repository keeps its table and its guarantees (all of a command's events or none, a
//! conflict on the primary key when another writer got there first) but shares the work between commands that
//! arrive together: loads waiting at the same moment are answered by one statement (an index lookup per
//! aggregate), and commits waiting at the same moment are written by one statement, so one round trip and one
//! WAL flush serve them all. Loads and commits each have one task with a connection of its own, which sends a
//! batch as soon as the previous one is done: with a single command in flight nothing waits, and batches grow
//! with the load (group commit). Measured in `consentry bench append` (docs/performance.md).
//!
//! The commit statement inserts each command's first event with `ON CONFLICT DO NOTHING`, then the rest of
//! the events of exactly those commands whose first event went in. Sequences of an aggregate are contiguous,
//! so a writer whose first event went in holds the aggregate's next sequence and its later events cannot
//! collide; the commands whose first event collided are told `OptimisticLockError` and wrote nothing. First
//! events are inserted in (type, id) order, so two batches in flight never wait on each other in a cycle. If
//! the statement fails anyway, every command of the batch is retried alone, so one bad command fails only
//! itself.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cqrs_es::persist::{PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{mpsc, oneshot};

/// Commands per batch at most: bounds the statement's size.
const MAX_BATCH: usize = 512;
/// How long a batcher keeps its connection without work. Taking it from the pool for every batch cost a
/// tenth of the throughput.
const IDLE: Duration = Duration::from_millis(50);

/// Writes the commands' events; returns the (type, id) of every command whose first event went in.
const INSERT_BATCH: &str = include_str!("../sql/group_commit/insert_batch.sql");

/// Loads every event of several aggregates of one type (`$1`; ids `$2`): a lateral join makes it one equality
/// lookup per aggregate, as postgres-es does for one. (A plain `aggregate_id = ANY($2)` is shorter, but a plan
/// cached while the table was small tests it as a filter on every event of the type, which grows with the
/// log. The lateral subquery's `OFFSET 0` matters for the same reason: without it PostgreSQL flattens the join,
/// and the generic plan cached on a young table hash-joins the ids against every event of the type.) Rows come
/// unordered; the caller sorts.
const SELECT_BATCH: &str = include_str!("../sql/group_commit/select_batch.sql");

type Reply<T> = oneshot::Sender<Result<T, PersistenceError>>;

/// One command's events, all of one aggregate, in sequence order.
struct Commit {
    events: Vec<SerializedEvent>,
    reply: Reply<()>,
}

struct Load {
    aggregate_type: String,
    aggregate_id: String,
    reply: Reply<Vec<SerializedEvent>>,
}

/// The event repository of the PostgreSQL store. Clones share their batches.
#[derive(Clone)]
pub struct GroupCommitRepository {
    pool: PgPool,
    commits: Arc<OnceLock<mpsc::UnboundedSender<Commit>>>,
    loads: Arc<OnceLock<mpsc::UnboundedSender<Load>>>,
}

impl GroupCommitRepository {
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            commits: Arc::default(),
            loads: Arc::default(),
        }
    }

    /// The queue of commits, started on first use (inside the runtime that uses it).
    fn commit_queue(&self) -> &mpsc::UnboundedSender<Commit> {
        self.commits.get_or_init(|| spawn_batcher(self.pool.clone()))
    }

    fn load_queue(&self) -> &mpsc::UnboundedSender<Load> {
        self.loads.get_or_init(|| spawn_batcher(self.pool.clone()))
    }

    fn plain(&self) -> PostgresEventRepository {
        PostgresEventRepository::new(self.pool.clone())
    }
}

/// A request that is served in batches.
trait Batched: Sized + Send + 'static {
    fn run(connection: &mut Connection, batch: Vec<Self>) -> impl Future<Output = ()> + Send;
}

impl Batched for Commit {
    fn run(connection: &mut Connection, batch: Vec<Self>) -> impl Future<Output = ()> + Send {
        commit_batch(connection, batch)
    }
}

impl Batched for Load {
    fn run(connection: &mut Connection, batch: Vec<Self>) -> impl Future<Output = ()> + Send {
        load_batch(connection, batch)
    }
}

/// Starts the task that serves a queue of requests in batches, one batch after the other.
fn spawn_batcher<R: Batched>(pool: PgPool) -> mpsc::UnboundedSender<R> {
    let (sender, mut queue) = mpsc::unbounded_channel();
    let mut connection = Connection::new(pool);
    tokio::spawn(async move {
        loop {
            let first = if connection.is_held() {
                match tokio::time::timeout(IDLE, queue.recv()).await {
                    Ok(Some(request)) => request,
                    Ok(None) => return,
                    Err(_) => {
                        connection.release();
                        continue;
                    }
                }
            } else {
                match queue.recv().await {
                    Some(request) => request,
                    None => return,
                }
            };
            R::run(&mut connection, take_batch(first, &mut queue)).await;
        }
    });
    sender
}

/// `first` and every request already queued behind it (up to [`MAX_BATCH`]).
fn take_batch<R>(first: R, queue: &mut mpsc::UnboundedReceiver<R>) -> Vec<R> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
    batch
}

/// A batcher's connection, taken from the pool when work arrives and given back after [`IDLE`] without work
/// (so that closing the pool, which waits for every connection, never waits long for an idle batcher) or
/// when it failed.
struct Connection {
    pool: PgPool,
    held: Option<PoolConnection<Postgres>>,
}

impl Connection {
    fn new(pool: PgPool) -> Self {
        Self { pool, held: None }
    }

    fn is_held(&self) -> bool {
        self.held.is_some()
    }

    fn release(&mut self) {
        self.held = None;
    }

    async fn get(&mut self) -> Result<&mut PgConnection, PersistenceError> {
        if self.held.is_none() {
            self.held = Some(self.pool.acquire().await.map_err(to_persistence_error)?);
        }
        match &mut self.held {
            Some(held) => Ok(&mut **held),
            None => Err(PersistenceError::ConnectionError(
                "no connection to the event log".into(),
            )),
        }
    }

    /// Runs `statement`; a connection that failed is given back, so the next batch starts on a fresh one.
    async fn fetch<T>(&mut self, statement: Statement<'_, T>) -> Result<Vec<T>, PersistenceError>
    where
        T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let outcome = statement.fetch_all(self.get().await?).await;
        if let Err(sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_)) = &outcome {
            self.held = None;
        }
        outcome.map_err(to_persistence_error)
    }
}

type Statement<'q, T> = sqlx::query::QueryAs<'q, Postgres, T, sqlx::postgres::PgArguments>;

fn to_persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => PersistenceError::OptimisticLockError,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}

/// The same failure again, for every request of a failed batch (the error itself cannot be cloned).
fn same_error(error: &PersistenceError) -> PersistenceError {
    let message = error.to_string();
    match error {
        PersistenceError::OptimisticLockError => PersistenceError::OptimisticLockError,
        PersistenceError::ConnectionError(_) => PersistenceError::ConnectionError(message.into()),
        PersistenceError::DeserializationError(_) => PersistenceError::DeserializationError(message.into()),
        PersistenceError::UnknownError(_) => PersistenceError::UnknownError(message.into()),
    }
}

fn queue_closed() -> PersistenceError {
    PersistenceError::UnknownError("the event log's batch queue has stopped".into())
}

/// The events of `commits` as the statement's column arrays.
#[derive(Default)]
struct Columns {
    aggregate_type: Vec<String>,
    aggregate_id: Vec<String>,
    sequence: Vec<i64>,
    event_type: Vec<String>,
    event_version: Vec<String>,
    payload: Vec<String>,
    metadata: Vec<String>,
    first: Vec<bool>,
}

impl Columns {
    fn push(&mut self, event: &SerializedEvent, first: bool) -> Result<(), PersistenceError> {
        let sequence = i64::try_from(event.sequence)
            .map_err(|_| PersistenceError::UnknownError(format!("sequence {} is too large", event.sequence).into()))?;
        self.aggregate_type.push(event.aggregate_type.clone());
        self.aggregate_id.push(event.aggregate_id.clone());
        self.sequence.push(sequence);
        self.event_type.push(event.event_type.clone());
        self.event_version.push(event.event_version.clone());
        self.payload.push(serde_json::to_string(&event.payload)?);
        self.metadata.push(serde_json::to_string(&event.metadata)?);
        self.first.push(first);
        Ok(())
    }
}

/// Inserts the commits' events in one statement; returns the aggregates whose commit went in.
async fn insert(connection: &mut Connection, commits: &[&Commit]) -> Result<Vec<(String, String)>, PersistenceError> {
    let mut columns = Columns::default();
    for commit in commits {
        for (index, event) in commit.events.iter().enumerate() {
            columns.push(event, index == 0)?;
        }
    }
    let statement = sqlx::query_as(INSERT_BATCH)
        .bind(columns.aggregate_type)
        .bind(columns.aggregate_id)
        .bind(columns.sequence)
        .bind(columns.event_type)
        .bind(columns.event_version)
        .bind(columns.payload)
        .bind(columns.metadata)
        .bind(columns.first);
    connection.fetch(statement).await
}

async fn commit_batch(connection: &mut Connection, batch: Vec<Commit>) {
    // Two commands of one batch on one aggregate loaded the same state: at most one of them can win, so the
    // later one is refused at once (it retries on the state the first one leaves).
    let mut seen = HashSet::new();
    let mut accepted = Vec::with_capacity(batch.len());
    for commit in batch {
        let Some(first) = commit.events.first() else {
            let _ = commit.reply.send(Ok(()));
            continue;
        };
        let key = (first.aggregate_type.clone(), first.aggregate_id.clone());
        if !seen.insert(key) {
            let _ = commit.reply.send(Err(PersistenceError::OptimisticLockError));
        } else {
            accepted.push(commit);
        }
    }
    if accepted.is_empty() {
        return;
    }
    let all: Vec<&Commit> = accepted.iter().collect();
    match insert(connection, &all).await {
        Ok(written) => {
            let written: HashSet<(String, String)> = written.into_iter().collect();
            for commit in accepted {
                let first = &commit.events[0];
                let went_in = written.contains(&(first.aggregate_type.clone(), first.aggregate_id.clone()));
                let outcome = if went_in {
                    Ok(())
                } else {
                    Err(PersistenceError::OptimisticLockError)
                };
                let _ = commit.reply.send(outcome);
            }
        }
        Err(error) if accepted.len() == 1 => {
            if let Some(commit) = accepted.into_iter().next() {
                let _ = commit.reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::warn!(%error, commands = accepted.len(), "event batch failed; committing its commands one by one");
            for commit in accepted {
                let outcome = match insert(connection, &[&commit]).await {
                    Ok(written) if written.is_empty() => Err(PersistenceError::OptimisticLockError),
                    Ok(_) => Ok(()),
                    Err(error) => Err(error),
                };
                let _ = commit.reply.send(outcome);
            }
        }
    }
}

type EventRow = (String, String, i64, String, String, Value, Value);

async fn select(
    connection: &mut Connection,
    aggregate_type: &str,
    ids: Vec<String>,
) -> Result<HashMap<String, Vec<SerializedEvent>>, PersistenceError> {
    let statement = sqlx::query_as(SELECT_BATCH).bind(aggregate_type).bind(ids);
    let rows: Vec<EventRow> = connection.fetch(statement).await?;
    let mut events: HashMap<String, Vec<SerializedEvent>> = HashMap::new();
    for (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) in rows {
        let sequence = usize::try_from(sequence)
            .map_err(|_| PersistenceError::DeserializationError(format!("negative sequence {sequence}").into()))?;
        events
            .entry(aggregate_id.clone())
            .or_default()
            .push(SerializedEvent::new(
                aggregate_id,
                sequence,
                aggregate_type,
                event_type,
                event_version,
                payload,
                metadata,
            ));
    }
    for history in events.values_mut() {
        history.sort_by_key(|event| event.sequence);
    }
    Ok(events)
}

async fn load_batch(connection: &mut Connection, batch: Vec<Load>) {
    let mut by_type: HashMap<String, Vec<Load>> = HashMap::new();
    for load in batch {
        by_type.entry(load.aggregate_type.clone()).or_default().push(load);
    }
    for (aggregate_type, loads) in by_type {
        // Loads of one aggregate may wait together: each gets its events.
        let ids: HashSet<String> = loads.iter().map(|load| load.aggregate_id.clone()).collect();
        match select(connection, &aggregate_type, ids.into_iter().collect()).await {
            Ok(events) => {
                for load in loads {
                    let found = events.get(&load.aggregate_id).cloned().unwrap_or_default();
                    let _ = load.reply.send(Ok(found));
                }
            }
            Err(error) => {
                for load in loads {
                    let _ = load.reply.send(Err(same_error(&error)));
                }
            }
        }
    }
}

impl PersistedEventRepository for GroupCommitRepository {
    async fn get_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<Vec<SerializedEvent>, PersistenceError> {
        let (reply, answer) = oneshot::channel();
        self.load_queue()
            .send(Load {
                aggregate_type: A::TYPE.to_owned(),
                aggregate_id: aggregate_id.to_owned(),
                reply,
            })
            .map_err(|_| queue_closed())?;
        answer.await.map_err(|_| queue_closed())?
    }

    async fn get_last_events<A: Aggregate>(
        &self,
        aggregate_id: &str,
        last_sequence: usize,
    ) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.plain().get_last_events::<A>(aggregate_id, last_sequence).await
    }

    async fn get_snapshot<A: Aggregate>(
        &self,
        _aggregate_id: &str,
    ) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        // The store runs in plain event-store mode: there are no snapshots.
        Ok(None)
    }

    async fn persist<A: Aggregate>(
        &self,
        events: &[SerializedEvent],
        snapshot_update: Option<(String, Value, usize)>,
    ) -> Result<(), PersistenceError> {
        if snapshot_update.is_some() {
            return Err(PersistenceError::UnknownError(
                "snapshots are not supported: the store runs in plain event-store mode".into(),
            ));
        }
        if events.is_empty() {
            return Ok(());
        }
        let (reply, answer) = oneshot::channel();
        self.commit_queue()
            .send(Commit {
                events: events.to_vec(),
                reply,
            })
            .map_err(|_| queue_closed())?;
        answer.await.map_err(|_| queue_closed())?
    }

    async fn stream_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<ReplayStream, PersistenceError> {
        self.plain().stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.plain().stream_all_events::<A>().await
    }
}
