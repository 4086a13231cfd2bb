//! `consentry bench NAME`: the store benchmarks. Each runs Consentry and its cqrs-es baseline in the same
//! process on scratch databases of their own (created on the server `DATABASE_URL` names, or as temporary
//! SQLite files, and dropped afterwards), prints both sides and the ratio, and with `--json` ends with one JSON
//! line `{"bench", "consentry", "baseline", "unit", "ratio", "peak_rss_mb"}`.
//!
//! - `replay`: seeds N events with a bulk load, rebuilds every read model from them, and replays a sample of
//!   the same events with cqrs-es `QueryReplay` into `GenericQuery` views; events/s each.
//! - `append`: 16 clients issue one-event commands for a while, on Consentry (ordered feed and projections
//!   running) and on plain postgres-es over a plain events table; commands/s each.
//! - `aggregate`: accounts and balances of one user at N sandbox banks with injected latency, fetched all at
//!   once by Consentry against one bank after another; aggregations/s each, and the wall time against the
//!   two-round critical path (accounts, then balances).
//! - `categorize`: transactions categorised with 1,000 rules on one core, against a naive per-rule loop
//!   (`bench_categorize`); transactions/s each.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::{Args, ValueEnum};
use consentry_adapters::{Database, SystemClock};
use consentry_domain::consent::{
    Consent, ConsentAccess, ConsentCommand, ConsentEvent, ConsentRequest, ConsentServices,
};
use consentry_domain::payment::{
    BankPayment, Payment, PaymentEvent, PaymentProduct, PaymentRequest, PaymentService, TransactionStatus,
};
use consentry_domain::sca::{ScaApproach, ScaLinks};
use consentry_domain::versioning::upcasters;
use consentry_domain::{Actor, BankId, Clock, EventMetadata, Iban, Money, TenantId, UserId};
use cqrs_es::persist::{GenericQuery, PersistedEventRepository, PersistedEventStore, QueryReplay, ViewRepository};
use cqrs_es::{Aggregate, CqrsFramework, DomainEvent, EventEnvelope, View};
use postgres_es::{PostgresEventRepository, PostgresViewRepository};
use serde::{Deserialize, Serialize};
use sqlite_es::{SqliteEventRepository, SqliteViewRepository};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::bench_report::BenchReport;
use crate::cli_projections::draw_progress;
use crate::{ConsentInput, Engine, RequestContext};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The baseline's tables (sample events, views), created on the scratch database only.
const BASELINE_POSTGRES: &str = include_str!("../bench/postgres/baseline.sql");
const BASELINE_SQLITE: &str = include_str!("../bench/sqlite/baseline.sql");

/// Copies the first events of the feed into the baseline's plain events table.
const SAMPLE_POSTGRES: &str = "
INSERT INTO baseline_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
FROM events ORDER BY transaction_id, position LIMIT $1";
const SAMPLE_SQLITE: &str = "
INSERT INTO baseline_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata
FROM events ORDER BY position LIMIT $1";

const COPY_EVENTS: &str = "COPY events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                           metadata) FROM STDIN";
const ANALYZE_EVENTS: &str = "ANALYZE events";
const INSERT_EVENT_SQLITE: &str = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, \
                                   event_version, payload, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Where the local PostgreSQL is when `DATABASE_URL` names none (the append benchmark needs one).
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BenchName {
    Replay,
    Append,
    Categorize,
    Aggregate,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    pub name: BenchName,
    /// replay: events to seed and rebuild.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// replay: events of the sample cqrs-es QueryReplay replays (it runs at about 2,000 events/s).
    #[arg(long, default_value_t = 10_000)]
    pub sample: u64,
    /// append: seconds each side runs.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// append: concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// categorize: transactions to categorise.
    #[arg(long, default_value_t = 1_000_000)]
    pub transactions: usize,
    /// categorize: rules in the rule set.
    #[arg(long, default_value_t = 1_000)]
    pub rules: usize,
    /// categorize: transactions the naive loop categorises (it is much slower).
    #[arg(long, default_value_t = 20_000)]
    pub baseline_sample: usize,
    /// aggregate: sandbox banks to fetch from.
    #[arg(long, default_value_t = 10)]
    pub banks: usize,
    /// aggregate: latency the sandbox adds to every request, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: BenchArgs) -> BenchResult<()> {
    let url = std::env::var("DATABASE_URL").ok();
    let (name, (consentry, baseline, unit)) = match args.name {
        BenchName::Replay => ("replay", replay(&args, url.as_deref()).await?),
        BenchName::Append => ("append", append(&args, url.as_deref()).await?),
        BenchName::Categorize => ("categorize", categorize(&args)?),
        BenchName::Aggregate => ("aggregate", aggregate(&args).await?),
    };
    BenchReport::new(name, consentry, baseline, unit).print(args.json);
    Ok(())
}

async fn aggregate(args: &BenchArgs) -> BenchResult<(f64, f64, &'static str)> {
    use consentry_adapters::config::BankConfig;
    use consentry_adapters::sandbox::{Faults, Sandbox, SandboxConfig};
    use consentry_domain::bank::PsuContext;

    let names: Vec<String> = (1..=args.banks).map(|n| format!("bank{n:02}")).collect();
    let latency = Faults {
        latency_ms: args.latency_ms,
        ..Faults::default()
    };
    let config = SandboxConfig {
        banks: names.clone(),
        faults: names.iter().map(|n| (n.clone(), latency.clone())).collect(),
        ..SandboxConfig::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Sandbox::start_with_clock(config, clock.clone(), ([127, 0, 0, 1], 0).into()).await?;
    let configs: Vec<BankConfig> = names
        .iter()
        .map(|n| BankConfig::sandbox(n, n, &sandbox.base_url()))
        .collect::<Result<_, _>>()?;
    let scratch = Scratch::for_url(None, "aggregate").await?;
    let engine = Engine::open(Some(&scratch.url()), clock.clone())
        .await?
        .with_banks(crate::banks::Banks::from_config(&configs)?);
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = RequestContext::user(tenant, user);
    println!(
        "connecting {} sandbox banks ({} ms latency each call)",
        args.banks, args.latency_ms
    );
    for name in &names {
        let request = crate::bank_flows::ConnectRequest {
            bank: name.clone(),
            psu_ip_address: "192.0.2.10".into(),
            psu_id: None,
            access: ConsentAccess::AllPsd2,
            valid_until: clock.today() + chrono::Duration::days(89),
            frequency_per_day: 4,
            callback_url: "http://127.0.0.1:9/callback/sca".into(),
            approach: None,
            renewal_of: None,
        };
        let started = engine.connect_bank(&ctx, request).await?;
        engine.refresh_consent_status(&ctx, started.consent).await?;
    }
    engine.projection_runner().catch_up().await?;
    let psu = PsuContext::present("192.0.2.10");

    let mut walls = Vec::new();
    let mut accounts = 0;
    for _ in 0..5 {
        let targets = engine.bank_targets(tenant, user).await?;
        let started = Instant::now();
        let (answers, failures) = crate::aggregation::fetch_all(targets, &psu).await;
        walls.push(started.elapsed().as_secs_f64());
        if !failures.is_empty() {
            return Err(format!("banks failed: {failures:?}").into());
        }
        accounts = answers.iter().map(|a| a.accounts.len()).sum();
    }
    walls.sort_by(f64::total_cmp);
    let parallel = walls[walls.len() / 2];
    let targets = engine.bank_targets(tenant, user).await?;
    let started = Instant::now();
    let sequential_accounts = crate::aggregation::fetch_one_by_one(targets, &psu).await;
    let sequential = started.elapsed().as_secs_f64();
    let critical_path = 2.0 * args.latency_ms as f64 / 1000.0;
    println!(
        "{accounts} accounts at {} banks (one by one: {sequential_accounts}); all at once: {:.0} ms (median of 5), \
         one bank after another: {:.0} ms; critical path (accounts, then balances): {:.0} ms, wall / critical path {:.2}",
        args.banks,
        parallel * 1000.0,
        sequential * 1000.0,
        critical_path * 1000.0,
        parallel / critical_path
    );
    sandbox.shutdown().await;
    engine.database().close().await;
    scratch.remove().await;
    Ok((1.0 / parallel, 1.0 / sequential, "aggregations/s"))
}

fn categorize(args: &BenchArgs) -> BenchResult<(f64, f64, &'static str)> {
    println!(
        "categorising {} transactions with {} rules on one core",
        args.transactions, args.rules
    );
    let figures = crate::bench_categorize::run(args.transactions, args.rules, args.baseline_sample)?;
    println!(
        "compiled rules: {} transactions; naive per-rule loop: {} transactions; both agree",
        figures.consentry_transactions, figures.baseline_transactions
    );
    Ok((
        figures.consentry_per_second,
        figures.baseline_per_second,
        "transactions/s",
    ))
}

// ---------------------------------------------------------------------------------------------------------
// Scratch databases

/// A database of the benchmark's own, removed by [`Scratch::remove`].
enum Scratch {
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    Sqlite {
        path: std::path::PathBuf,
    },
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
    format!("{server}/{name}{query}")
}

fn is_postgres(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

impl Scratch {
    async fn postgres(server_url: &str, label: &str) -> BenchResult<Self> {
        let admin_url = with_database(server_url, "postgres");
        let name = format!("consentry_bench_{label}_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let url = with_database(server_url, &name);
        Ok(Scratch::Postgres { admin_url, name, url })
    }

    async fn for_url(url: Option<&str>, label: &str) -> BenchResult<Self> {
        match url {
            Some(url) if is_postgres(Some(url)) => Self::postgres(url, label).await,
            _ => Ok(Scratch::Sqlite {
                path: std::env::temp_dir().join(format!("consentry-bench-{label}-{}.db", Uuid::new_v4())),
            }),
        }
    }

    fn url(&self) -> String {
        match self {
            Scratch::Postgres { url, .. } => url.clone(),
            Scratch::Sqlite { path } => format!("sqlite://{}", path.display()),
        }
    }

    async fn remove(self) {
        match self {
            Scratch::Postgres { admin_url, name, .. } => {
                let dropped = async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                }
                .await;
                if let Err(error) = dropped {
                    tracing::warn!(%error, database = %name, "could not drop the scratch database");
                }
            }
            Scratch::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Seeding

/// One stored event, ready for a bulk load.
struct SeedRow {
    aggregate_type: &'static str,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
}

/// Generates the seeded log: per story, a consent that is requested, recorded, authorised and read twice
/// without the user, and a payment that is requested, sent, received and settled (10 events).
struct Story {
    tenant: TenantId,
    start: DateTime<Utc>,
    debtor: Iban,
    creditor: Iban,
    amount: Money,
}

const EVENTS_PER_STORY: u64 = 10;

impl Story {
    fn new() -> BenchResult<Self> {
        Ok(Self {
            tenant: TenantId::new(),
            start: Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).single().unwrap_or_default(),
            debtor: Iban::parse("LT12 1000 0111 0100 1000")?,
            creditor: Iban::parse("LT73 7300 0100 0000 0003")?,
            amount: Money::parse("amount", "42.50", "EUR")?,
        })
    }

    fn rows(&self, story: u64, out: &mut Vec<SeedRow>) -> BenchResult<()> {
        let user = UserId::new();
        let at = self.start + chrono::Duration::seconds(story as i64);
        let metadata = EventMetadata {
            occurred_at: at,
            tenant: self.tenant,
            user: Some(user),
            actor: Actor::System,
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
        };
        let metadata = serde_json::to_string(&metadata.to_map())?;
        let bank = BankId::parse(["swedbank", "seb", "luminor", "revolut", "paysera"][(story % 5) as usize])?;
        let consent = Uuid::new_v4().to_string();
        let consent_events = [
            ConsentEvent::ConsentRequested(ConsentRequest {
                tenant: self.tenant,
                user,
                bank: bank.clone(),
                access: ConsentAccess::AllPsd2,
                recurring_indicator: true,
                valid_until: NaiveDate::from_ymd_opt(2026, 4, 4).unwrap_or_default(),
                frequency_per_day: 4,
                renewal_of: None,
            }),
            ConsentEvent::BankConsentRecorded {
                bank_consent_id: format!("{bank}-{story}"),
                sca: ScaLinks {
                    approach: Some(ScaApproach::Redirect),
                    redirect_url: Some(format!("https://sandbox.consentry.invalid/{bank}/sca/{story}")),
                    ..ScaLinks::default()
                },
            },
            ConsentEvent::ConsentAuthorised,
            ConsentEvent::UnattendedAccessCounted {
                day: at.date_naive(),
                resources: vec!["accounts".into()],
            },
            ConsentEvent::UnattendedAccessCounted {
                day: at.date_naive(),
                resources: vec!["accounts".into()],
            },
        ];
        let payment = Uuid::new_v4().to_string();
        let bank_payment = |status| {
            PaymentEvent::BankPaymentRecorded(BankPayment {
                bank_payment_id: format!("pmt-{story}"),
                status,
                sca: ScaLinks::default(),
            })
        };
        let payment_events = [
            PaymentEvent::PaymentInitiationRequested(PaymentRequest {
                tenant: self.tenant,
                user,
                bank,
                service: PaymentService::Payments,
                product: PaymentProduct::SepaCreditTransfers,
                debtor: self.debtor.clone(),
                creditor: self.creditor.clone(),
                creditor_name: "Ignitis UAB".into(),
                instructed_amount: self.amount,
                remittance_information: Some("Electricity".into()),
                idempotency_key: Uuid::new_v4(),
            }),
            PaymentEvent::InitiationAttemptStarted { attempt: 1 },
            bank_payment(TransactionStatus::Rcvd),
            PaymentEvent::PaymentStatusObserved {
                status: TransactionStatus::Actc,
            },
            PaymentEvent::PaymentStatusObserved {
                status: TransactionStatus::Acsc,
            },
        ];
        for (sequence, event) in consent_events.into_iter().enumerate() {
            out.push(seed_row(Consent::TYPE, &consent, sequence, &event, &metadata)?);
        }
        for (sequence, event) in payment_events.into_iter().enumerate() {
            out.push(seed_row(Payment::TYPE, &payment, sequence, &event, &metadata)?);
        }
        Ok(())
    }
}

fn seed_row<E: DomainEvent>(
    aggregate_type: &'static str,
    id: &str,
    index: usize,
    event: &E,
    metadata: &str,
) -> BenchResult<SeedRow> {
    Ok(SeedRow {
        aggregate_type,
        aggregate_id: id.to_owned(),
        sequence: index as i64 + 1,
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_string(event)?,
        metadata: metadata.to_owned(),
    })
}

/// Appends `value` as one field of COPY's text format.
fn copy_field(out: &mut Vec<u8>, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

/// Stories generated per chunk: bounds the seeder's memory whatever N is.
const STORIES_PER_CHUNK: u64 = 2_000;

async fn seed(database: &Database, events: u64) -> BenchResult<()> {
    let story = Story::new()?;
    let stories = events.div_ceil(EVENTS_PER_STORY);
    let started = Instant::now();
    let mut written = 0u64;
    let mut rows = Vec::new();
    match database {
        Database::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let mut copy = conn.copy_in_raw(COPY_EVENTS).await?;
            let mut buffer = Vec::new();
            for chunk_start in (0..stories).step_by(STORIES_PER_CHUNK as usize) {
                rows.clear();
                for index in chunk_start..(chunk_start + STORIES_PER_CHUNK).min(stories) {
                    story.rows(index, &mut rows)?;
                }
                rows.truncate((events - written).min(rows.len() as u64) as usize);
                buffer.clear();
                for row in &rows {
                    for (i, field) in [
                        row.aggregate_type,
                        &row.aggregate_id,
                        &row.sequence.to_string(),
                        &row.event_type,
                        &row.event_version,
                        &row.payload,
                        &row.metadata,
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        if i > 0 {
                            buffer.push(b'\t');
                        }
                        copy_field(&mut buffer, field);
                    }
                    buffer.push(b'\n');
                }
                copy.send(buffer.as_slice()).await?;
                written += rows.len() as u64;
            }
            copy.finish().await?;
            // A bulk load leaves no planner statistics until autovacuum comes by; a real log has them.
            sqlx::query(ANALYZE_EVENTS).execute(pool).await?;
        }
        Database::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            for chunk_start in (0..stories).step_by(STORIES_PER_CHUNK as usize) {
                rows.clear();
                for index in chunk_start..(chunk_start + STORIES_PER_CHUNK).min(stories) {
                    story.rows(index, &mut rows)?;
                }
                rows.truncate((events - written).min(rows.len() as u64) as usize);
                for row in &rows {
                    sqlx::query(INSERT_EVENT_SQLITE)
                        .bind(row.aggregate_type)
                        .bind(&row.aggregate_id)
                        .bind(row.sequence)
                        .bind(&row.event_type)
                        .bind(&row.event_version)
                        .bind(&row.payload)
                        .bind(&row.metadata)
                        .execute(&mut *tx)
                        .await?;
                }
                written += rows.len() as u64;
            }
            tx.commit().await?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {written} events in {seconds:.1} s ({:.0} rows/s)",
        written as f64 / seconds.max(1e-9)
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// replay

/// The cqrs-es way to keep a read model: one JSON view document per aggregate, updated event by event.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ConsentView(Consent);

impl View<Consent> for ConsentView {
    fn update(&mut self, event: &EventEnvelope<Consent>) {
        self.0.apply(event.payload.clone());
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PaymentView(Payment);

impl View<Payment> for PaymentView {
    fn update(&mut self, event: &EventEnvelope<Payment>) {
        self.0.apply(event.payload.clone());
    }
}

async fn query_replay<A, V, R, VR>(repository: R, views: VR) -> BenchResult<()>
where
    A: Aggregate,
    V: View<A>,
    R: PersistedEventRepository,
    VR: ViewRepository<V, A>,
{
    let replay =
        QueryReplay::new(repository, GenericQuery::<VR, V, A>::new(Arc::new(views))).with_upcasters(upcasters());
    replay.replay_all().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Replays the first `sample` events with cqrs-es; returns the events per second.
async fn baseline_replay(database: &Database, sample: u64) -> BenchResult<f64> {
    let started = match database {
        Database::Postgres(pool) => {
            sqlx::raw_sql(BASELINE_POSTGRES).execute(pool).await?;
            sqlx::query(SAMPLE_POSTGRES).bind(sample as i64).execute(pool).await?;
            let started = Instant::now();
            let events =
                || PostgresEventRepository::new(pool.clone()).with_tables("baseline_events", "baseline_snapshots");
            query_replay::<Consent, ConsentView, _, _>(
                events(),
                PostgresViewRepository::new("baseline_consent_view", pool.clone()),
            )
            .await?;
            query_replay::<Payment, PaymentView, _, _>(
                events(),
                PostgresViewRepository::new("baseline_payment_view", pool.clone()),
            )
            .await?;
            started
        }
        Database::Sqlite(pool) => {
            sqlx::raw_sql(BASELINE_SQLITE).execute(pool).await?;
            sqlx::query(SAMPLE_SQLITE).bind(sample as i64).execute(pool).await?;
            let started = Instant::now();
            let events =
                || SqliteEventRepository::new(pool.clone()).with_tables("baseline_events", "baseline_snapshots");
            query_replay::<Consent, ConsentView, _, _>(
                events(),
                SqliteViewRepository::new("baseline_consent_view", pool.clone()),
            )
            .await?;
            query_replay::<Payment, PaymentView, _, _>(
                events(),
                SqliteViewRepository::new("baseline_payment_view", pool.clone()),
            )
            .await?;
            started
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let rate = sample as f64 / seconds.max(1e-9);
    eprintln!("cqrs-es QueryReplay: {sample} events in {seconds:.2} s ({rate:.0} events/s)");
    Ok(rate)
}

async fn replay(args: &BenchArgs, url: Option<&str>) -> BenchResult<(f64, f64, &'static str)> {
    let scratch = Scratch::for_url(url, "replay").await?;
    let outcome = async {
        let engine = Engine::open(Some(&scratch.url()), Arc::new(SystemClock)).await?;
        eprintln!(
            "replay benchmark on {}: {} events",
            engine.database().kind(),
            args.events
        );
        seed(engine.database(), args.events).await?;
        let started = Instant::now();
        let replayed = engine.rebuild_projections(Vec::new(), draw_progress).await?;
        let seconds = started.elapsed().as_secs_f64();
        eprintln!();
        let rate = replayed as f64 / seconds.max(1e-9);
        eprintln!("consentry rebuild: {replayed} events in {seconds:.2} s ({rate:.0} events/s)");
        let baseline = baseline_replay(engine.database(), args.sample.min(args.events)).await?;
        engine.database().close().await;
        Ok::<_, Box<dyn std::error::Error>>((rate, baseline, "events/s"))
    }
    .await;
    scratch.remove().await;
    outcome
}

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

async fn append(args: &BenchArgs, url: Option<&str>) -> BenchResult<(f64, f64, &'static str)> {
    let server = match url {
        Some(url) if is_postgres(Some(url)) => url.to_owned(),
        _ => LOCAL_POSTGRES.to_owned(),
    };
    let ours = Scratch::postgres(&server, "append").await?;
    let plain = Scratch::postgres(&server, "plain").await?;
    let outcome = async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let engine = Arc::new(Engine::open(Some(&ours.url()), clock.clone()).await?);
        let projections = engine.start_projections();

        // The same pool settings as Consentry's own, so the comparison is of the stores alone.
        let pool: PgPool = PgPoolOptions::new()
            .max_connections(20)
            .test_before_acquire(false)
            .connect(&plain.url())
            .await?;
        let event_log = consentry_adapters::migrations::POSTGRES
            .first()
            .map(|m| m.sql)
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

        // ABBA order, half the time per round, so drift (caches, autovacuum) affects both sides alike.
        let half = Duration::from_secs_f64(args.seconds / 2.0);
        eprintln!(
            "append benchmark on PostgreSQL: {} clients, one-event commands, {:.1} s per side",
            args.clients, args.seconds
        );
        let warm = Duration::from_millis(500);
        drive(args.clients, warm, plain_command.clone()).await?;
        drive(args.clients, warm, consentry_command.clone()).await?;
        let mut plain_done = drive(args.clients, half, plain_command.clone()).await?;
        let mut ours_done = drive(args.clients, half, consentry_command.clone()).await?;
        ours_done += drive(args.clients, half, consentry_command).await?;
        plain_done += drive(args.clients, half, plain_command).await?;
        let seconds = half.as_secs_f64() * 2.0;
        let ours_rate = ours_done as f64 / seconds;
        let plain_rate = plain_done as f64 / seconds;
        eprintln!("consentry (ordered feed, projections running): {ours_done} commands, {ours_rate:.0}/s");
        eprintln!("plain postgres-es CqrsFramework: {plain_done} commands, {plain_rate:.0}/s");

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
        Ok::<_, Box<dyn std::error::Error>>((ours_rate, plain_rate, "commands/s"))
    }
    .await;
    ours.remove().await;
    plain.remove().await;
    outcome
}
