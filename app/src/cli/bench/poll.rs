//! `bench poll`: payment status polling at scale. N payments are initiated at the in-process sandbox (answering
//! at once, and holding every payment at RCVD so that each poll is the same work), all made due at once; then
//! Consentry's scheduler polls every one of them (claims in batches with `FOR UPDATE SKIP LOCKED`, concurrent
//! bank calls), and a naive worker on the same table claims one row per transaction, polls it and reschedules
//! it, for a sample. Polls/s each; PostgreSQL only (the naive loop is PostgreSQL's textbook queue).

use std::sync::Arc;
use std::time::Instant;

use consentry::payments::{PaymentInput, PaymentStart};
use consentry::scheduler::SchedulerConfig;
use consentry::{Engine, EngineError, RequestContext};
use consentry_adapters::SystemClock;
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::schedule::next_status_poll;
use consentry_domain::{Clock, PaymentId, TenantId, UserId};
use consentry_projections::read_models::due_work::WorkKind;
use consentry_store::{Backend, Database};
use futures::StreamExt;

use super::report::Figures;
use super::{scratch, BenchArgs, BenchResult};

const MAKE_DUE: &str = include_str!("../../../bench/postgres/poll/make_due.sql");
const NAIVE_CLAIM: &str = include_str!("../../../bench/postgres/poll/naive_claim.sql");
const NAIVE_RESCHEDULE: &str = include_str!("../../../bench/postgres/poll/naive_reschedule.sql");
const COUNT: &str = include_str!("../../../bench/postgres/poll/count.sql");

/// Payments initiated at the same time while seeding.
const SEEDING: usize = 64;

pub async fn run(args: &BenchArgs, url: Option<&str>) -> BenchResult<Figures> {
    use consentry_adapters::config::BankConfig;
    use consentry_sandbox::{Sandbox, SandboxConfig};

    if Backend::of_url(url)? != Backend::Postgres {
        return Err("bench poll needs PostgreSQL: set DATABASE_URL to a postgres:// server".into());
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = SandboxConfig {
        banks: vec!["bank01".into()],
        // Every payment stays RCVD for the whole run: each poll reads the same status and stores nothing.
        accept_after_ms: 86_400_000,
        settle_after_ms: 86_400_000,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with_clock(config, clock.clone(), ([127, 0, 0, 1], 0).into()).await?;
    let bank = BankConfig::sandbox("bank01", "Bank 01", &sandbox.base_url())?;
    let scratch = scratch::create(url, "bench_poll").await?;
    let engine = Arc::new(
        Engine::open(Some(scratch.url()), clock.clone())
            .await?
            .with_banks(consentry::banks::Banks::from_config(&[bank])?),
    );
    let outcome = measure(&engine, args).await;
    drop(engine);
    scratch.remove().await;
    outcome
}

async fn measure(engine: &Arc<Engine>, args: &BenchArgs) -> BenchResult<Figures> {
    let payments = args.payments;
    println!("initiating {payments} payments at the in-process sandbox ({SEEDING} at a time)");
    let seeding = super::super::progress::spinner("initiating payments");
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let started = Instant::now();
    let mut failures = 0usize;
    let mut results = futures::stream::iter(0..payments)
        .map(|_| {
            let engine = engine.clone();
            async move { engine.start_payment(&ctx, order()).await }
        })
        .buffer_unordered(SEEDING);
    while let Some(result) = results.next().await {
        if result.is_err() {
            failures += 1;
        }
    }
    seeding.finish_and_clear();
    if failures > 0 {
        return Err(format!("{failures} of {payments} payments could not be initiated").into());
    }
    engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
    println!(
        "{payments} payments in flight after {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let Database::Postgres(pool) = engine.database() else {
        return Err("bench poll needs PostgreSQL".into());
    };
    let in_flight: i64 = sqlx::query_scalar(COUNT).fetch_one(pool).await?;
    sqlx::query(MAKE_DUE).execute(pool).await?;

    // Consentry: the scheduler's passes until every payment was polled once.
    let config = SchedulerConfig {
        owner: "bench".into(),
        batch: 1_000,
        concurrency: 64,
        ..SchedulerConfig::default()
    };
    let polling = super::super::progress::spinner("Consentry's scheduler polling");
    let started = Instant::now();
    let mut polled = 0usize;
    // One round: every payment polled once (rows come due again on their schedule meanwhile; they wait).
    while polled < in_flight as usize {
        let pass = engine.run_due_work(&[WorkKind::PaymentPoll], &config).await?;
        if pass.claimed == 0 {
            break;
        }
        polled += pass.rescheduled;
    }
    let consentry = polled as f64 / started.elapsed().as_secs_f64();
    polling.finish_and_clear();
    println!("Consentry: {polled} polls in {:.1} s", started.elapsed().as_secs_f64());

    // The naive worker: one row per transaction, for a sample of the same table.
    sqlx::query(MAKE_DUE).execute(pool).await?;
    let sample = args.baseline_polls.min(in_flight as usize);
    let naive = super::super::progress::spinner("the naive worker polling");
    let started = Instant::now();
    for _ in 0..sample {
        let mut tx = pool.begin().await?;
        let now = engine.now();
        let row: Option<(String, i64)> = sqlx::query_as(NAIVE_CLAIM)
            .bind(now.timestamp_millis())
            .fetch_optional(&mut *tx)
            .await?;
        let Some((id, since_ms)) = row else {
            break;
        };
        let payment = PaymentId::parse(&id)?;
        engine.poll_payment_status(&ctx, payment).await?;
        let since = chrono::DateTime::from_timestamp_millis(since_ms).unwrap_or(now);
        let next = next_status_poll(since, engine.now()).unwrap_or(now);
        sqlx::query(NAIVE_RESCHEDULE)
            .bind(next.timestamp_millis())
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let baseline = sample as f64 / started.elapsed().as_secs_f64();
    naive.finish_and_clear();
    println!(
        "naive worker: {sample} polls in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Figures {
        consentry,
        baseline,
        unit: "polls/s",
        ceiling: None,
    })
}

fn order() -> PaymentStart {
    PaymentStart {
        order: PaymentInput {
            bank: "bank01".into(),
            service: PaymentService::Payments,
            product: PaymentProduct::SepaCreditTransfers,
            debtor_iban: "LT121000011101001000".into(),
            creditor_iban: "LT737300010000000003".into(),
            creditor_name: "Ignitis UAB".into(),
            amount: "1.00".into(),
            currency: "EUR".into(),
            remittance_information: None,
        },
        psu_ip_address: "192.0.2.10".into(),
        callback_url: "http://127.0.0.1:9/callback/sca".into(),
        approach: Some(consentry_domain::sca::ScaApproach::Decoupled),
    }
}
