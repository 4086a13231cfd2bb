//! The checkpointed projection runner.
//!
//! Each projection has a checkpoint row. A batch is one transaction: lock the checkpoint row, read the next
//! events of the feed after it, write the read-model rows they change, move the checkpoint. A crash anywhere
//! rolls the whole batch back, so an event is applied exactly once. The lock (`FOR UPDATE` on PostgreSQL,
//! `BEGIN IMMEDIATE` on SQLite) makes a second runner of the same projection wait and then read the moved
//! checkpoint, so N engine instances can all run the runner and no batch is ever applied twice.
//!
//! A runner catches up in full batches, then follows the log. On PostgreSQL it LISTENs on `consentry_events`,
//! which a statement trigger on the events table notifies, and applies the next batch when woken; on SQLite
//! it polls. After a batch that was not full it waits for a notification or at most a short interval (the
//! safety net: a notification lost while the listener reconnects, or events still behind the feed's horizon
//! when it came), and never starts batches closer together than a minimum gap, so under load events are
//! applied in batches rather than one transaction each. Between batches it first peeks at the feed without a
//! transaction, so an idle runner costs one light query per interval. A batch that fails is logged, recorded
//! in the checkpoint row (`last_error`, `failures`) and retried with back-off; the runner never moves past an
//! event it could not apply.
//!
//! A rebuild replays the whole feed into a projection's tables while readers keep seeing the old tables, whole,
//! until the new ones are complete, and without stopping anything else. Both stores build new tables beside
//! the live ones (shadows) and put them in the live ones' place at the end. On PostgreSQL that is one
//! transaction: the shadows are fresh tables of schema `consentry_rebuild`, created in it and filled with only
//! the key their upserts need, their other indexes built once they are full, then swapped in by name (see the
//! projections' migration 0016); nobody else sees them until the commit, and a failed rebuild leaves nothing
//! behind. That transaction writes no events, so it marks itself and the feed's horizon ignores it, and live
//! runners of the other projections go on. On SQLite, which has one writer at a time, a transaction that long
//! would stop every writer, commands included; there the shadows are TEMP tables of the rebuild's own
//! connection, written in one short transaction per batch and copied in at the end (see `Shadow` in
//! `read_models`).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use consentry_store::{on_conn, on_pool, Backend, Conn, Database, DedicatedConnection, Statement};
use sqlx::postgres::PgListener;
use sqlx::{Connection as _, PgConnection, PgPool, SqliteConnection};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::feed;
use crate::read_models::{prepare, Needs, PlanContext, Write};
use crate::{Feed, FeedEvent, FeedPosition, Projection, ProjectionError};

const REGISTER: Statement = Statement::both(include_str!("sql/runner/register.sql"));

/// The checkpoint without a lock: to peek at the feed between batches, and on SQLite, where the batch's
/// `BEGIN IMMEDIATE` already holds the database's write lock.
const CHECKPOINT: Statement = Statement::both(include_str!("sql/runner/checkpoint.sql"));

/// Read models are derived data and a batch commits its rows and its checkpoint together, so a batch lost in a
/// server crash is simply applied again: the runner's commits need not wait for the WAL flush, which leaves
/// the disk to the commands' commits. The batch's staging tables are created `IF NOT EXISTS`, which PostgreSQL
/// answers with a notice once they exist: notices are not sent for the batch.
const ASYNC_COMMIT_POSTGRES: Statement = Statement::both(include_str!("sql/runner/async_commit.postgres.sql"));

/// Locks the checkpoint for the batch on PostgreSQL: a concurrent runner waits here, then sees the moved
/// checkpoint. (On SQLite the batch's immediate transaction already holds the write lock.)
const LOCK_CHECKPOINT: Statement = Statement::each(
    include_str!("sql/runner/lock_checkpoint.postgres.sql"),
    include_str!("sql/runner/checkpoint.sql"),
);

const ADVANCE: Statement = Statement::each(
    include_str!("sql/runner/advance.postgres.sql"),
    include_str!("sql/runner/advance.sqlite.sql"),
);

/// After a rebuild the checkpoint counts exactly the events the new tables hold.
const RESET: Statement = Statement::each(
    include_str!("sql/runner/reset.postgres.sql"),
    include_str!("sql/runner/reset.sqlite.sql"),
);

const RECORD_FAILURE: Statement = Statement::each(
    include_str!("sql/runner/record_failure.postgres.sql"),
    include_str!("sql/runner/record_failure.sqlite.sql"),
);

const STATUS: Statement = Statement::each(
    include_str!("sql/runner/status.postgres.sql"),
    include_str!("sql/runner/status.sqlite.sql"),
);

/// Marks a PostgreSQL rebuild's transaction, before it takes a transaction id, so the feed's horizon ignores
/// it (see the feed's `READ`): it writes read-model rows only, never events, so readers of the feed need not
/// wait for it. A local setting ends with the transaction, and with it the mark. Like a live batch, the rebuild
/// is not sent the notices of its staging tables' `CREATE ... IF NOT EXISTS`.
const MARK_REBUILD_POSTGRES: Statement = Statement::both(include_str!("sql/runner/mark_rebuild.postgres.sql"));

/// A rebuild on PostgreSQL creates a shadow of each table it fills (`$1`), keyed unless `$2` is false.
const CREATE_SHADOW_POSTGRES: &str = include_str!("sql/runner/create_shadow.postgres.sql");
/// The rebuild transaction's search path as it was, to put the shadows first on and to restore.
const SEARCH_PATH_POSTGRES: &str = include_str!("sql/runner/search_path.postgres.sql");
/// Puts schema `consentry_rebuild` before the search path `$1`, until the transaction ends.
const SHADOWS_FIRST_POSTGRES: &str = include_str!("sql/runner/shadows_first.postgres.sql");
/// Sets the search path back to `$1`, until the transaction ends.
const SET_SEARCH_PATH_POSTGRES: &str = include_str!("sql/runner/set_search_path.postgres.sql");
/// Builds the indexes of the shadow of table `$1` and puts it in the live table's place.
const SWAP_IN_POSTGRES: &str = include_str!("sql/runner/swap_in.postgres.sql");

const BEGIN_IMMEDIATE_SQLITE: &str = include_str!("sql/runner/begin_immediate.sqlite.sql");

/// Events per live batch: small enough to keep transactions short, large enough to amortise them.
const LIVE_BATCH: i64 = 1_000;
/// Events per rebuild batch by default: bounds memory (a batch is held decoded) while keeping statements few.
const REBUILD_BATCH: i64 = 10_000;
/// How long a live runner waits after a batch that was not full unless a notification wakes it first.
const POLL: Duration = Duration::from_millis(100);
/// The least time between the starts of two live batches of a projection: under load, the events of this
/// long go in one batch. (At 20 ms, the extra transactions cost 12 % of command throughput in `bench append`.)
const MIN_GAP: Duration = Duration::from_millis(100);
/// The channel the events table's statement trigger notifies (the adapters' migration 0006).
const EVENTS_CHANNEL: &str = "consentry_events";
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A projection's checkpoint and health, as the status table shows it.
#[derive(Debug, Clone)]
pub struct ProjectionStatus {
    pub projection: String,
    pub transaction_id: i64,
    pub position: i64,
    pub events_applied: i64,
    pub updated_at: String,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub failures: i64,
    /// Events stored after the checkpoint.
    pub lag: i64,
}

/// A checkpoint row as the status statement returns it.
#[derive(sqlx::FromRow)]
struct StatusRow {
    projection: String,
    transaction_id: i64,
    position: i64,
    events_applied: i64,
    updated_at: String,
    last_error: Option<String>,
    last_error_at: Option<String>,
    failures: i64,
}

/// How far a rebuild has come, reported after every batch.
#[derive(Debug, Clone, Copy)]
pub struct RebuildProgress {
    pub events_done: u64,
    pub events_total: u64,
    pub elapsed: Duration,
}

/// Runs projections on one store: single batches, catching up, following live, and rebuilding.
#[derive(Clone, Debug)]
pub struct ProjectionRunner {
    database: Database,
    projections: Vec<Projection>,
    batch_size: i64,
    rebuild_batch_size: i64,
    poll: Duration,
}

/// The live runner's tasks; dropping the handle (or [`RunnerHandle::stop`]) ends them. A batch in flight is
/// rolled back, which is safe: its events are applied again by the next runner.
#[derive(Debug)]
pub struct RunnerHandle {
    tasks: Vec<JoinHandle<()>>,
}

impl RunnerHandle {
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl ProjectionRunner {
    /// A runner of every projection.
    pub fn new(database: Database) -> Self {
        Self {
            database,
            projections: Projection::ALL.to_vec(),
            batch_size: LIVE_BATCH,
            rebuild_batch_size: REBUILD_BATCH,
            poll: POLL,
        }
    }

    /// Runs only `projections`.
    pub fn with_projections(self, projections: Vec<Projection>) -> Self {
        Self { projections, ..self }
    }

    /// How long a live projection waits for new events unless a notification wakes it first (on SQLite,
    /// where nothing notifies, the polling interval).
    pub fn with_poll_interval(self, poll: Duration) -> Self {
        Self { poll, ..self }
    }

    /// Events per rebuild batch (memory grows with it).
    pub fn with_rebuild_batch_size(self, rebuild_batch_size: i64) -> Self {
        Self {
            rebuild_batch_size: rebuild_batch_size.max(1),
            ..self
        }
    }

    /// Events per live batch.
    pub fn with_batch_size(self, batch_size: i64) -> Self {
        Self {
            batch_size: batch_size.max(1),
            ..self
        }
    }

    /// A connection of the runner's own, taken out of the pool: if the task using it is dropped mid-batch,
    /// the connection closes and the database rolls the batch back, exactly as if the process had died.
    /// The checkpoint rows are registered first, outside any batch, so a failed batch can be recorded on them.
    async fn connect(&self) -> Result<DedicatedConnection, ProjectionError> {
        self.register_all().await?;
        Ok(self.database.dedicated().await?)
    }

    /// Applies the next batch of `projection`, and returns how many events it applied (0 when caught up).
    async fn batch_on(&self, conn: &mut DedicatedConnection, projection: Projection) -> Result<usize, ProjectionError> {
        match conn {
            DedicatedConnection::Postgres(conn) => {
                let mut tx = conn.begin().await?;
                let outcome = batch(Conn::Postgres(&mut tx), projection, self.batch_size).await;
                finish(tx, outcome).await
            }
            DedicatedConnection::Sqlite(conn) => {
                let mut tx = conn.begin_with(BEGIN_IMMEDIATE_SQLITE).await?;
                let outcome = batch(Conn::Sqlite(&mut tx), projection, self.batch_size).await;
                finish(tx, outcome).await
            }
        }
    }

    /// Runs batches of every projection until none is left; returns the events applied. A failure is recorded
    /// in the projection's status and returned.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        let mut conn = self.connect().await?;
        let mut total = 0;
        for &projection in &self.projections {
            loop {
                match self.batch_on(&mut conn, projection).await {
                    Ok(0) => break,
                    Ok(applied) => total += applied as u64,
                    Err(error) => {
                        self.record_failure(projection, &error).await;
                        return Err(error);
                    }
                }
            }
        }
        Ok(total)
    }

    /// Starts one task per projection that catches up and then follows the log until the handle is dropped.
    pub fn start(&self) -> RunnerHandle {
        let (wake, woken) = watch::channel(());
        let mut tasks: Vec<JoinHandle<()>> = self
            .projections
            .iter()
            .map(|&projection| tokio::spawn(self.clone().follow(projection, woken.clone())))
            .collect();
        if let Database::Postgres(pool) = &self.database {
            tasks.push(tokio::spawn(listen(pool.clone(), wake)));
        }
        RunnerHandle { tasks }
    }

    async fn follow(self, projection: Projection, mut woken: watch::Receiver<()>) {
        let mut backoff = Duration::from_millis(100);
        let mut connection = None;
        let mut idle = false;
        loop {
            let started = Instant::now();
            let batch = async {
                let conn = match &mut connection {
                    Some(conn) => conn,
                    None => connection.insert(self.connect().await?),
                };
                if idle && !self.has_news(conn, projection).await? {
                    return Ok(0);
                }
                self.batch_on(conn, projection).await
            };
            match batch.await {
                Ok(applied) => {
                    backoff = Duration::from_millis(100);
                    idle = (applied as i64) < self.batch_size;
                    if idle {
                        // A closed channel (SQLite: no listener) leaves the timer alone.
                        tokio::select! {
                            () = tokio::time::sleep(self.poll) => {}
                            Ok(()) = woken.changed() => {}
                        }
                        tokio::time::sleep_until((started + MIN_GAP).into()).await;
                    }
                }
                Err(error) => {
                    let retry_in_ms = backoff.as_millis() as u64;
                    tracing::error!(%projection, %error, retry_in_ms, "projection batch failed");
                    self.record_failure(projection, &error).await;
                    // The connection may be what failed; the next try starts on a fresh one.
                    connection = None;
                    idle = false;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Whether the feed has an event after the projection's checkpoint, without taking any lock.
    async fn has_news(&self, conn: &mut DedicatedConnection, projection: Projection) -> Result<bool, ProjectionError> {
        let mut conn = conn.borrow();
        let at = checkpoint(&mut conn, &CHECKPOINT, projection).await?;
        let interest = projection.read_model().interest();
        Ok(!feed::read(&mut conn, at, 1, Some(interest)).await?.is_empty())
    }

    /// Makes a failure visible in the status table; if even that fails, the log is all there is.
    async fn record_failure(&self, projection: Projection, error: &ProjectionError) {
        let message = error.to_string();
        let sql = RECORD_FAILURE.sql(self.database.backend());
        let recorded = on_pool!(&self.database, pool => sqlx::query(sql)
            .bind(projection.name())
            .bind(&message)
            .execute(pool)
            .await
            .map(|_| ()));
        if let Err(db_error) = recorded {
            tracing::error!(%projection, %db_error, "could not record the projection's failure");
        }
    }

    /// Every projection's checkpoint, health and lag (events stored after its checkpoint).
    pub async fn status(&self) -> Result<Vec<ProjectionStatus>, ProjectionError> {
        self.register_all().await?;
        let sql = STATUS.sql(self.database.backend());
        let rows: Vec<StatusRow> = on_pool!(&self.database, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
        let feed = Feed::new(self.database.clone());
        let mut statuses = Vec::with_capacity(rows.len());
        for row in rows {
            let lag = feed
                .count_after(FeedPosition::from((row.transaction_id, row.position)))
                .await?;
            statuses.push(ProjectionStatus {
                projection: row.projection,
                transaction_id: row.transaction_id,
                position: row.position,
                events_applied: row.events_applied,
                updated_at: row.updated_at,
                last_error: row.last_error,
                last_error_at: row.last_error_at,
                failures: row.failures,
                lag,
            });
        }
        Ok(statuses)
    }

    async fn register_all(&self) -> Result<(), ProjectionError> {
        for projection in Projection::ALL {
            let name = projection.name();
            let sql = REGISTER.sql(self.database.backend());
            on_pool!(&self.database, pool => sqlx::query(sql).bind(name).execute(pool).await.map(|_| ()))?;
        }
        Ok(())
    }

    /// Rebuilds this runner's projections from the first event: their tables are refilled and their
    /// checkpoints reset, all committed at once, so readers see the old tables until the new ones are complete.
    /// Returns the events replayed.
    ///
    /// Live runners of other projections go on meanwhile, on both stores. A live runner of a projection being
    /// rebuilt never applies a batch twice nor loses one: on PostgreSQL it waits on its checkpoint's lock,
    /// which the rebuild holds from the start, then continues from the rebuilt checkpoint; on SQLite it goes on
    /// into the old tables, and the rebuild's last transaction, holding the write lock, catches its shadows up
    /// to the end of the log, replaces the tables with them and resets the checkpoint to that end.
    pub async fn rebuild(&self, mut progress: impl FnMut(RebuildProgress)) -> Result<u64, ProjectionError> {
        self.register_all().await?;
        let started = Instant::now();
        let events_total = Feed::new(self.database.clone())
            .count_after(FeedPosition::START)
            .await? as u64;
        let mut report = |events_done| {
            progress(RebuildProgress {
                events_done,
                events_total,
                elapsed: started.elapsed(),
            })
        };
        // Its own connection: if the rebuild is dropped half-way, the connection closes, the database rolls
        // the transaction back and drops the shadow tables.
        let mut connection = self.database.dedicated().await?;
        let mut batches = spawn_planner(self.database.clone(), self.projections.clone(), self.rebuild_batch_size);
        match &mut connection {
            DedicatedConnection::Postgres(conn) => {
                let mut tx = conn.begin().await?;
                let outcome = rebuild_on_postgres(&mut tx, &self.projections, &mut batches, &mut report).await;
                finish(tx, outcome).await
            }
            DedicatedConnection::Sqlite(conn) => {
                rebuild_on_sqlite(
                    conn,
                    &self.projections,
                    &mut batches,
                    &mut report,
                    self.rebuild_batch_size,
                )
                .await
            }
        }
    }
}

/// Wakes the live projection tasks whenever a statement adds events: LISTEN on the trigger's channel. Ends when
/// the pool closes; any other failure is logged and the listener started again, the polls covering the gap.
async fn listen(pool: PgPool, wake: watch::Sender<()>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let listened: Result<Infallible, sqlx::Error> = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(EVENTS_CHANNEL).await?;
            // Whatever was committed before the LISTEN took effect announced itself to nobody.
            wake.send_replace(());
            loop {
                // `None`: the connection was lost and is remade on the next call; notifications sent
                // meanwhile are gone, so the runners look for themselves.
                listener.try_recv().await?;
                wake.send_replace(());
            }
        }
        .await;
        let Err(error) = listened;
        if matches!(error, sqlx::Error::PoolClosed) {
            return;
        }
        tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64, "listening for new events failed");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A rebuild batch, read and planned, waiting to be written.
struct PlannedBatch {
    writes: Vec<Write>,
    last: FeedPosition,
    events: usize,
}

/// Plans each batch the reader (`spawn_reader`) reads for every projection, a batch ahead of the writer:
/// reading, folding and writing overlap, each on a connection and a core of its own where there are cores to
/// spare. Reading outside the rebuild's transaction is safe: the feed only grows after a position. The reader
/// stops after the first batch that was not full (it had reached the feed's head): the rebuild's transaction
/// no longer holds the horizon, so under a steady stream of commands it would otherwise chase the head for
/// ever. Live runners (on PostgreSQL) or the swap (on SQLite) take the events after it.
///
/// The owners of the consents met are written here, at once and in transactions of their own, not in the
/// rebuild's: they are facts of the log that never change, which live account-information batches write too
/// (`ON CONFLICT DO NOTHING`), and a live batch inserting an owner that the rebuild's open transaction had
/// inserted would wait for that transaction to end.
fn spawn_planner(
    database: Database,
    projections: Vec<Projection>,
    batch_size: i64,
) -> tokio::sync::mpsc::Receiver<Result<PlannedBatch, ProjectionError>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let mut read = spawn_reader(database.clone(), batch_size);
    tokio::spawn(async move {
        // Kept across batches: the owners met so far, and each tenant's rules as they were when the rebuild
        // started to need them.
        let mut context = PlanContext::default();
        let planned = async {
            let mut connection = database.dedicated().await?;
            let mut conn = connection.borrow();
            let backend = conn.backend();
            let needs: Vec<Needs> = projections.iter().map(|p| p.read_model().needs()).collect();
            let context_needed = needs.iter().any(|n| *n != Needs::Events);
            let rules = needs.contains(&Needs::OwnersAndRules);
            loop {
                let Some(events) = read.recv().await else {
                    return Ok(());
                };
                let events = events?;
                let Some(last) = events.last().map(FeedEvent::feed_position) else {
                    return Ok(());
                };
                let owners = if context_needed {
                    prepare(&mut conn, &mut context, &events, rules).await?;
                    // The consents' owners are shared by the account-information projections: written once.
                    context.owner_write(backend)?
                } else {
                    None
                };
                // Folding is CPU work of tens of milliseconds a batch: off the runtime's workers, which the
                // reader and the writer need meanwhile to keep their connections busy. The owners are written
                // meanwhile.
                let projections = projections.clone();
                let planning = tokio::task::spawn_blocking(move || {
                    let mut writes = Vec::new();
                    for projection in &projections {
                        writes.extend(projection.read_model().plan(&events, backend, &context)?);
                    }
                    Ok::<_, ProjectionError>((writes, context, events.len()))
                });
                let owners_written = async {
                    match owners {
                        Some(owners) => apply(&mut conn, owners).await,
                        None => Ok(()),
                    }
                };
                let (owners_written, planned) = tokio::join!(owners_written, planning);
                owners_written?;
                let (writes, kept, events) = match planned {
                    Ok(planned) => planned?,
                    Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                    Err(error) => return Err(ProjectionError::Stopped(error.to_string())),
                };
                context = kept;
                let batch = PlannedBatch { writes, last, events };
                if sender.send(Ok(batch)).await.is_err() {
                    // The rebuild gave up and nobody needs the rest.
                    return Ok(());
                }
            }
        };
        if let Err(error) = planned.await {
            let _ = sender.send(Err(error)).await;
        }
    });
    receiver
}

/// Reads the feed from the start for the planner, on a connection of its own and a batch ahead of it, so that
/// reading (the server scanning the log, the client receiving and parsing rows) overlaps with planning. Stops
/// after the first batch that was not full: it had reached the feed's head.
fn spawn_reader(
    database: Database,
    batch_size: i64,
) -> tokio::sync::mpsc::Receiver<Result<Vec<FeedEvent>, ProjectionError>> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        let read = async {
            let mut connection = database.dedicated().await?;
            let mut conn = connection.borrow();
            let mut after = FeedPosition::START;
            loop {
                let events = feed::read(&mut conn, after, batch_size, None).await?;
                let Some(last) = events.last().map(FeedEvent::feed_position) else {
                    return Ok(());
                };
                after = last;
                let at_head = (events.len() as i64) < batch_size;
                if sender.send(Ok(events)).await.is_err() || at_head {
                    // Done, or the planner gave up and nobody needs the rest.
                    return Ok(());
                }
            }
        };
        if let Err(error) = read.await {
            let _ = sender.send(Err::<Vec<FeedEvent>, ProjectionError>(error)).await;
        }
    });
    receiver
}

type Planned = tokio::sync::mpsc::Receiver<Result<PlannedBatch, ProjectionError>>;

/// PostgreSQL: marks the transaction as a rebuild's, locks `projections`' checkpoints, creates a shadow of each
/// of their tables (see `consentry_rebuild` in the migrations) and puts the shadows first on the transaction's
/// search path, so the projections' statements write into them unchanged. Writes every planned batch, then
/// swaps each shadow in (its indexes built, its live table dropped) and resets the checkpoints to the last event
/// written, all inside the caller's transaction: until it commits, readers and live runners use the live
/// tables, and if it fails they are left as they were.
async fn rebuild_on_postgres(
    tx: &mut PgConnection,
    projections: &[Projection],
    batches: &mut Planned,
    report: &mut impl FnMut(u64),
) -> Result<u64, ProjectionError> {
    let mut conn = Conn::Postgres(&mut *tx);
    conn.run(&MARK_REBUILD_POSTGRES).await?;
    for &projection in projections {
        // Live runners of the projection wait on this lock until the rebuild commits. Waiting for a row lock
        // takes no transaction id, so they do not hold the feed's horizon back meanwhile.
        checkpoint(&mut conn, &LOCK_CHECKPOINT, projection).await?;
    }
    let tables: Vec<&str> = projections
        .iter()
        .flat_map(|p| p.read_model().tables())
        .copied()
        .collect();
    for &projection in projections {
        let read_model = projection.read_model();
        for table in read_model.tables() {
            sqlx::query(CREATE_SHADOW_POSTGRES)
                .bind(table)
                .bind(!read_model.insert_only().contains(table))
                .execute(&mut *tx)
                .await?;
        }
    }
    let (search_path,): (String,) = sqlx::query_as(SEARCH_PATH_POSTGRES).fetch_one(&mut *tx).await?;
    sqlx::query(SHADOWS_FIRST_POSTGRES)
        .bind(&search_path)
        .execute(&mut *tx)
        .await?;
    let mut done = 0u64;
    let mut after = FeedPosition::START;
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        for write in batch.writes {
            apply(&mut Conn::Postgres(&mut *tx), write).await?;
        }
        after = batch.last;
        done += batch.events as u64;
        report(done);
    }
    // The live tables' names mean the live tables again, for the swap and the checkpoints.
    sqlx::query(SET_SEARCH_PATH_POSTGRES)
        .bind(&search_path)
        .execute(&mut *tx)
        .await?;
    for table in tables {
        sqlx::query(SWAP_IN_POSTGRES).bind(table).execute(&mut *tx).await?;
    }
    let mut conn = Conn::Postgres(&mut *tx);
    for &projection in projections {
        move_checkpoint(&mut conn, &RESET, projection, after, done as usize).await?;
    }
    Ok(done)
}

/// SQLite: writes every planned batch into shadow tables, one short transaction each (the shadows are TEMP
/// tables, so these take no lock on the database's file, and commands and live runners go on), then swaps the
/// shadows in with one immediate transaction.
async fn rebuild_on_sqlite(
    conn: &mut SqliteConnection,
    projections: &[Projection],
    batches: &mut Planned,
    report: &mut impl FnMut(u64),
    batch_size: i64,
) -> Result<u64, ProjectionError> {
    for shadow in projections.iter().flat_map(|p| p.read_model().shadows()) {
        sqlx::query(shadow.create).execute(&mut *conn).await?;
        sqlx::query(shadow.key).execute(&mut *conn).await?;
    }
    let mut done = 0u64;
    let mut after = FeedPosition::START;
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        let mut tx = conn.begin().await?;
        let written = async {
            for write in batch.writes {
                apply(&mut Conn::Sqlite(&mut tx), write).await?;
            }
            Ok(())
        }
        .await;
        finish(tx, written).await?;
        after = batch.last;
        done += batch.events as u64;
        report(done);
    }
    let mut tx = conn.begin_with(BEGIN_IMMEDIATE_SQLITE).await?;
    let outcome = swap_in_shadows(Conn::Sqlite(&mut tx), projections, after, done, batch_size).await;
    let done = finish(tx, outcome).await?;
    report(done);
    Ok(done)
}

/// The end of a rebuild on SQLite, inside an immediate transaction (so no writer runs meanwhile): applies to
/// the shadows the events stored since the planner's last batch, empties the real tables, copies the shadows
/// in and resets the checkpoints to the last event. A live runner's batches written meanwhile into the old
/// tables go with them, and it continues from the reset checkpoint, so none is lost or applied twice.
async fn swap_in_shadows(
    mut tx: Conn<'_>,
    projections: &[Projection],
    mut after: FeedPosition,
    mut done: u64,
    batch_size: i64,
) -> Result<u64, ProjectionError> {
    let needs: Vec<Needs> = projections.iter().map(|p| p.read_model().needs()).collect();
    let context_needed = needs.iter().any(|n| *n != Needs::Events);
    let rules = needs.contains(&Needs::OwnersAndRules);
    loop {
        let events = feed::read(&mut tx, after, batch_size, None).await?;
        let Some(last) = events.last().map(FeedEvent::feed_position) else {
            break;
        };
        let mut context = PlanContext::default();
        if context_needed {
            prepare(&mut tx, &mut context, &events, rules).await?;
            if let Some(owners) = context.owner_write(Backend::Sqlite)? {
                apply(&mut tx, owners).await?;
            }
        }
        for projection in projections {
            for write in projection.read_model().plan(&events, Backend::Sqlite, &context)? {
                apply(&mut tx, write).await?;
            }
        }
        after = last;
        done += events.len() as u64;
    }
    for projection in projections {
        for statement in projection.read_model().clear() {
            on_conn!(&mut tx, c => sqlx::query(statement).execute(&mut **c).await.map(|_| ()))?;
        }
        for shadow in projection.read_model().shadows() {
            on_conn!(&mut tx, c => sqlx::query(shadow.copy).execute(&mut **c).await.map(|_| ()))?;
        }
    }
    for &projection in projections {
        move_checkpoint(&mut tx, &RESET, projection, after, done as usize).await?;
    }
    Ok(done)
}

/// One batch, inside the caller's transaction: on SQLite an immediate one, which already holds the database's
/// write lock; on PostgreSQL the checkpoint row is locked here.
async fn batch(mut tx: Conn<'_>, projection: Projection, limit: i64) -> Result<usize, ProjectionError> {
    let read_model = projection.read_model();
    if tx.backend() == Backend::Postgres {
        tx.run(&ASYNC_COMMIT_POSTGRES).await?;
    }
    let after = checkpoint(&mut tx, &LOCK_CHECKPOINT, projection).await?;
    let events = feed::read(&mut tx, after, limit, Some(read_model.interest())).await?;
    let Some(last) = events.last().map(FeedEvent::feed_position) else {
        return Ok(0);
    };
    // Fresh per batch: a tenant's changed rules apply from the next batch on.
    let mut context = PlanContext::default();
    let needs = read_model.needs();
    if needs != Needs::Events {
        prepare(&mut tx, &mut context, &events, needs == Needs::OwnersAndRules).await?;
        if let Some(owners) = context.owner_write(tx.backend())? {
            apply(&mut tx, owners).await?;
        }
    }
    for write in read_model.plan(&events, tx.backend(), &context)? {
        apply(&mut tx, write).await?;
    }
    move_checkpoint(&mut tx, &ADVANCE, projection, last, events.len()).await?;
    Ok(events.len())
}

/// A projection's checkpoint, through `statement` (with or without a row lock).
async fn checkpoint(
    conn: &mut Conn<'_>,
    statement: &Statement,
    projection: Projection,
) -> Result<FeedPosition, sqlx::Error> {
    let sql = conn.sql(statement);
    let position: (i64, i64) =
        on_conn!(conn, c => sqlx::query_as(sql).bind(projection.name()).fetch_one(&mut **c).await)?;
    Ok(position.into())
}

/// Moves a projection's checkpoint through `statement` to `to`, counting `events`.
async fn move_checkpoint(
    conn: &mut Conn<'_>,
    statement: &Statement,
    projection: Projection,
    to: FeedPosition,
    events: usize,
) -> Result<(), sqlx::Error> {
    let sql = conn.sql(statement);
    on_conn!(conn, c => sqlx::query(sql)
        .bind(projection.name())
        .bind(to.transaction_id)
        .bind(to.position)
        .bind(events as i64)
        .execute(&mut **c)
        .await
        .map(|_| ()))
}

/// Runs one planned multi-row write.
async fn apply(conn: &mut Conn<'_>, write: Write) -> Result<(), ProjectionError> {
    match (conn, write) {
        (Conn::Postgres(conn), Write::Json { statement, rows }) => {
            sqlx::query(statement.sql(Backend::Postgres))
                .bind(rows)
                .execute(&mut **conn)
                .await?;
        }
        (Conn::Postgres(conn), Write::Columns { sql, args }) => {
            sqlx::query_with(sql, args).execute(&mut **conn).await?;
        }
        (Conn::Sqlite(conn), Write::Json { statement, rows }) => {
            sqlx::query(statement.sql(Backend::Sqlite))
                .bind(rows)
                .execute(&mut **conn)
                .await?;
        }
        (Conn::Postgres(conn), Write::Copy { sql, data }) => {
            let mut copy = conn.copy_in_raw(sql).await?;
            copy.send(data).await?;
            copy.finish().await?;
        }
        (conn, Write::Run(statement)) => conn.run(&statement).await?,
        (Conn::Sqlite(_), Write::Columns { .. } | Write::Copy { .. }) => return Err(ProjectionError::WrongStore),
    }
    Ok(())
}

/// Commits a batch that worked and rolls back one that did not, before anything else uses the connection:
/// a rollback merely queued on drop would keep the checkpoint row locked meanwhile.
async fn finish<DB: sqlx::Database, T>(
    tx: sqlx::Transaction<'_, DB>,
    outcome: Result<T, ProjectionError>,
) -> Result<T, ProjectionError> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(%rollback, "rolling back a failed projection batch failed");
            }
            Err(error)
        }
    }
}
