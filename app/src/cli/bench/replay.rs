//! `bench replay`: seeds N events with a bulk load, rebuilds every read model from them, and replays a sample of
//! the same events with cqrs-es `QueryReplay` into `GenericQuery` views. On PostgreSQL the rebuilt rows are then
//! copied back into the same tables with `COPY`, the ceiling (`replay_ceiling`).

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use consentry::Engine;
use consentry_adapters::SystemClock;
use consentry_domain::consent::{Consent, ConsentAccess, ConsentEvent, ConsentRequest};
use consentry_domain::payment::{
    BankPayment, Payment, PaymentEvent, PaymentProduct, PaymentRequest, PaymentService, TransactionStatus,
};
use consentry_domain::sca::{ScaApproach, ScaLinks};
use consentry_domain::versioning::upcasters;
use consentry_domain::{Actor, BankId, EventMetadata, Iban, Money, TenantId, UserId};
use consentry_store::Database;
use cqrs_es::persist::{GenericQuery, PersistedEventRepository, QueryReplay, ViewRepository};
use cqrs_es::{Aggregate, DomainEvent, EventEnvelope, View};
use postgres_es::{PostgresEventRepository, PostgresViewRepository};
use serde::{Deserialize, Serialize};
use sqlite_es::{SqliteEventRepository, SqliteViewRepository};
use uuid::Uuid;

use super::report::Figures;
use super::{replay_ceiling, scratch};
use super::{BenchArgs, BenchResult};
use crate::cli::progress::{spinner, RebuildBar};

/// The baseline's tables (sample events, views), created on the scratch database only.
const BASELINE_POSTGRES: &str = include_str!("../../../bench/postgres/baseline.sql");
const BASELINE_SQLITE: &str = include_str!("../../../bench/sqlite/baseline.sql");

/// Copies the first events of the feed into the baseline's plain events table.
const SAMPLE_POSTGRES: &str = include_str!("../../../bench/postgres/sample.sql");
const SAMPLE_SQLITE: &str = include_str!("../../../bench/sqlite/sample.sql");

const COPY_EVENTS: &str = include_str!("../../../bench/postgres/copy_events.sql");
const VACUUM_EVENTS: &str = include_str!("../../../bench/postgres/vacuum_events.sql");
const INSERT_EVENT: &str = include_str!("../../../bench/insert_event.sql");

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
            // A bulk load leaves the log as no real log is: without planner statistics, and with no row yet
            // known to be visible to all (hint bits, visibility map), until autovacuum comes by, as it does after
            // inserts. Otherwise the first reader, the timed rebuild, would set the hint bits of a million rows
            // and write every page of the log back.
            sqlx::query(VACUUM_EVENTS).execute(pool).await?;
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
                    sqlx::query(INSERT_EVENT)
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

pub async fn run(args: &BenchArgs, url: Option<&str>) -> BenchResult<Figures> {
    let scratch = scratch::create(url, "bench_replay").await?;
    let outcome = async {
        let engine = Engine::open(Some(scratch.url()), Arc::new(SystemClock)).await?;
        eprintln!(
            "replay benchmark on {}: {} events",
            engine.database().backend().name(),
            args.events
        );
        let seeding = spinner(format!("seeding {} events", args.events));
        seed(engine.database(), args.events).await?;
        seeding.finish_and_clear();
        let started = Instant::now();
        let bar = RebuildBar::new();
        let replayed = engine.rebuild_projections(Vec::new(), |p| bar.update(p)).await?;
        bar.finish();
        let seconds = started.elapsed().as_secs_f64();
        let rate = replayed as f64 / seconds.max(1e-9);
        eprintln!("consentry rebuild: {replayed} events in {seconds:.2} s ({rate:.0} events/s)");
        let replaying = spinner("cqrs-es QueryReplay");
        let baseline = baseline_replay(engine.database(), args.sample.min(args.events)).await;
        replaying.finish_and_clear();
        let baseline = baseline?;
        let ceiling = match engine.database() {
            Database::Postgres(pool) => {
                let ceiling = replay_ceiling::measure(pool).await?;
                let copy_seconds = ceiling.elapsed.as_secs_f64();
                let equivalent = replayed as f64 / copy_seconds.max(1e-9);
                eprintln!(
                    "ceiling: COPY of the {} rebuilt rows into the emptied tables in {copy_seconds:.2} s, \
                     {equivalent:.0} events/s of the log they came from",
                    ceiling.rows
                );
                Some(equivalent)
            }
            Database::Sqlite(_) => {
                eprintln!("no ceiling on SQLite: it has no COPY (the target applies to PostgreSQL)");
                None
            }
        };
        engine.database().close().await;
        Ok::<_, Box<dyn std::error::Error>>(Figures {
            consentry: rate,
            baseline,
            unit: "events/s",
            ceiling,
        })
    }
    .await;
    scratch.remove().await;
    outcome
}
