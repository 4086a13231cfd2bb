//! `bench append`: clients issuing one-event commands for a while, on Consentry (ordered feed and projections
//! running) and on plain postgres-es over a plain events table; and the ceiling, as many connections inserting
//! one event row per transaction straight into that plain table (no aggregate loaded, no framework around it).

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consentry::{ConsentInput, Engine, RequestContext};
use consentry_adapters::SystemClock;
use consentry_domain::consent::{
    Consent, ConsentAccess, ConsentCommand, ConsentEvent, ConsentRequest, ConsentServices,
};
use consentry_domain::{Actor, BankId, Clock, EventMetadata, TenantId, UserId};
use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent};
use postgres_es::PostgresEventRepository;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use super::report::Figures;
use super::{BenchArgs, BenchResult};
use crate::cli::progress::spinner;
use consentry_store::{Backend, ScratchDatabase};

/// Where the local PostgreSQL is when `DATABASE_URL` names none (the append benchmark needs one).
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The ceiling's whole transaction: one event row, as postgres-es inserts it.
const INSERT_EVENT: &str = include_str!("../../../bench/insert_event.sql");

// ---------------------------------------------------------------------------------------------------------
// append

/// Runs `clients` loops of `command` for `duration`; returns the commands that succeeded.
async fn drive<F, Fut>(clients: usize, duration: Duration, command: F) -> BenchResult<u64>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (stop, done, command) = (stop.clone(), done.clone(), command.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                command().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed))
}

fn consent_request(tenant: TenantId, clock: &dyn Clock) -> BenchResult<ConsentRequest> {
    Ok(ConsentRequest {
        tenant,
        user: UserId::new(),
        bank: BankId::parse("swedbank")?,
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until: clock.today() + chrono::Duration::days(89),
        frequency_per_day: 4,
        renewal_of: None,
    })
}

/// The ceiling: `clients` connections of their own, each inserting one event row per transaction into the
/// plain events table, the row a one-event command stores (a ConsentRequested of a new consent, sequence 1).
struct InsertCeiling {
    connections: Vec<PgConnection>,
    row: Arc<CeilingRow>,
}

struct CeilingRow {
    event_type: String,
    event_version: String,
    payload: serde_json::Value,
    metadata: serde_json::Value,
}

impl InsertCeiling {
    async fn connect(url: &str, clients: usize, tenant: TenantId, clock: &dyn Clock) -> BenchResult<Self> {
        let mut connections = Vec::with_capacity(clients);
        for _ in 0..clients {
            connections.push(PgConnection::connect(url).await?);
        }
        let request = consent_request(tenant, clock)?;
        let metadata = EventMetadata {
            occurred_at: clock.now(),
            tenant,
            user: Some(request.user),
            actor: Actor::User,
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
        };
        let event = ConsentEvent::ConsentRequested(request);
        let row = CeilingRow {
            event_type: event.event_type(),
            event_version: event.event_version(),
            payload: serde_json::to_value(&event)?,
            metadata: serde_json::to_value(metadata.to_map())?,
        };
        Ok(Self {
            connections,
            row: Arc::new(row),
        })
    }

    /// Inserts on every connection at once for `duration`; returns the rows committed.
    async fn drive(&mut self, duration: Duration) -> BenchResult<u64> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for mut conn in self.connections.drain(..) {
            let (stop, row) = (stop.clone(), self.row.clone());
            tasks.push(tokio::spawn(async move {
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    sqlx::query(INSERT_EVENT)
                        .bind(Consent::TYPE)
                        .bind(Uuid::new_v4().to_string())
                        .bind(1i64)
                        .bind(&row.event_type)
                        .bind(&row.event_version)
                        .bind(&row.payload)
                        .bind(&row.metadata)
                        .execute(&mut conn)
                        .await?;
                    done += 1;
                }
                Ok::<_, sqlx::Error>((conn, done))
            }));
        }
        tokio::time::sleep(duration).await;
        stop.store(true, Ordering::Relaxed);
        let mut done = 0;
        for task in tasks {
            let (conn, inserted) = task.await??;
            self.connections.push(conn);
            done += inserted;
        }
        Ok(done)
    }

    async fn close(self) {
        for conn in self.connections {
            let _ = conn.close().await;
        }
    }
}

pub async fn run(args: &BenchArgs, url: Option<&str>) -> BenchResult<Figures> {
    let server = match url {
        Some(url) if Backend::of_url(Some(url))? == Backend::Postgres => url.to_owned(),
        _ => LOCAL_POSTGRES.to_owned(),
    };
    let ours = ScratchDatabase::create(Backend::Postgres, &server, "bench_append").await?;
    let plain = ScratchDatabase::create(Backend::Postgres, &server, "bench_plain").await?;
    let outcome = async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let engine = Arc::new(Engine::open(Some(ours.url()), clock.clone()).await?);
        let projections = engine.start_projections();

        // The same pool settings as Consentry's own, so the comparison is of the stores alone.
        let pool: PgPool = PgPoolOptions::new()
            .max_connections(20)
            .test_before_acquire(false)
            .connect(plain.url())
            .await?;
        let event_log = consentry_adapters::MIGRATIONS
            .first()
            .and_then(|m| m.sql(consentry_store::Backend::Postgres))
            .ok_or("the event log migration is missing")?;
        sqlx::raw_sql(event_log).execute(&pool).await?;
        let cqrs = Arc::new(CqrsFramework::new(
            PersistedEventStore::<_, Consent>::new_event_store(PostgresEventRepository::new(pool.clone())),
            vec![],
            ConsentServices { clock: clock.clone() },
        ));

        let tenant = TenantId::new();
        let consentry_command = {
            let engine = engine.clone();
            move || {
                let engine = engine.clone();
                async move {
                    let ctx = RequestContext::user(tenant, UserId::new());
                    let input = ConsentInput {
                        bank: "swedbank".into(),
                        access: ConsentAccess::AllPsd2,
                        recurring_indicator: true,
                        valid_until: engine.now().date_naive() + chrono::Duration::days(89),
                        frequency_per_day: 4,
                        renewal_of: None,
                    };
                    engine
                        .request_consent(&ctx, input)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            }
        };
        let plain_command = {
            let (cqrs, clock) = (cqrs.clone(), clock.clone());
            move || {
                let (cqrs, clock) = (cqrs.clone(), clock.clone());
                async move {
                    let request = consent_request(tenant, clock.as_ref()).map_err(|e| e.to_string())?;
                    let ctx = RequestContext::user(tenant, request.user);
                    let metadata = EventMetadata {
                        occurred_at: clock.now(),
                        tenant,
                        user: Some(request.user),
                        actor: ctx.actor,
                        correlation_id: ctx.correlation_id,
                        causation_id: ctx.causation_id,
                    };
                    cqrs.execute_with_metadata(
                        &Uuid::new_v4().to_string(),
                        ConsentCommand::Request(request),
                        metadata.to_map(),
                    )
                    .await
                    .map_err(|e| e.to_string())
                }
            }
        };

        let mut ceiling = InsertCeiling::connect(plain.url(), args.clients, tenant, clock.as_ref()).await?;

        // ABC then CBA, half the time per round, so drift (caches, autovacuum, the growing tables) affects
        // every side alike.
        let half = Duration::from_secs_f64(args.seconds / 2.0);
        eprintln!(
            "append benchmark on PostgreSQL: {} clients, one-event commands, {:.1} s per side",
            args.clients, args.seconds
        );
        let warm = Duration::from_millis(500);
        let phase = spinner("warming up");
        drive(args.clients, warm, plain_command.clone()).await?;
        drive(args.clients, warm, consentry_command.clone()).await?;
        ceiling.drive(warm).await?;
        phase.set_message("plain postgres-es, round 1 of 2");
        let mut plain_done = drive(args.clients, half, plain_command.clone()).await?;
        phase.set_message("consentry, round 1 of 2");
        let mut ours_done = drive(args.clients, half, consentry_command.clone()).await?;
        phase.set_message("ceiling, rounds 1 and 2 of 2");
        let mut ceiling_done = ceiling.drive(half).await?;
        ceiling_done += ceiling.drive(half).await?;
        phase.set_message("consentry, round 2 of 2");
        ours_done += drive(args.clients, half, consentry_command).await?;
        phase.set_message("plain postgres-es, round 2 of 2");
        plain_done += drive(args.clients, half, plain_command).await?;
        phase.finish_and_clear();
        let seconds = half.as_secs_f64() * 2.0;
        let ours_rate = ours_done as f64 / seconds;
        let plain_rate = plain_done as f64 / seconds;
        let ceiling_rate = ceiling_done as f64 / seconds;
        eprintln!("consentry (ordered feed, projections running): {ours_done} commands, {ours_rate:.0}/s");
        eprintln!("plain postgres-es CqrsFramework: {plain_done} commands, {plain_rate:.0}/s");
        eprintln!(
            "ceiling, one INSERT per transaction into the plain events table: {ceiling_done} rows, \
             {ceiling_rate:.0}/s"
        );
        ceiling.close().await;

        let caught_up = Instant::now();
        loop {
            let statuses = engine.projection_status().await?;
            let lag: i64 = statuses.iter().map(|s| s.lag).max().unwrap_or(0);
            if lag == 0 || caught_up.elapsed() > Duration::from_secs(60) {
                eprintln!(
                    "projections caught up {:.2} s after the last command (largest lag now {lag})",
                    caught_up.elapsed().as_secs_f64()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(projections);
        pool.close().await;
        engine.database().close().await;
        Ok::<_, Box<dyn std::error::Error>>(Figures {
            consentry: ours_rate,
            baseline: plain_rate,
            unit: "commands/s",
            ceiling: Some(ceiling_rate),
        })
    }
    .await;
    ours.remove().await;
    plain.remove().await;
    outcome
}
