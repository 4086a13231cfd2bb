//! The read-side commands of the CLI: `consentry replay` (rebuild read models from the first event, with a
//! progress bar) and `consentry audit` (an aggregate's events with their metadata and its state as of a time).
//! Both use the store `DATABASE_URL` names, the default SQLite file otherwise, like the Engine.

use std::io::Write as _;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use consentry_adapters::SystemClock;
use consentry_domain::{ConsentId, PaymentId};
use consentry_projections::{Projection, RebuildProgress};
use cqrs_es::{Aggregate, DomainEvent};
use serde::Serialize;

use crate::audit::AuditTrail;
use crate::Engine;

type CliResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rebuild only this projection (consents, payments, accounts, transactions, spending); all by default.
    #[arg(long)]
    pub projection: Option<String>,
    /// Print each projection's checkpoint, lag and last error instead of rebuilding.
    #[arg(long, conflicts_with = "projection")]
    pub status: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuditedAggregate {
    Consent,
    Payment,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to audit.
    pub aggregate: AuditedAggregate,
    /// The consent or payment id.
    #[arg(required_unless_present = "list")]
    pub id: Option<String>,
    /// The state as of this time (RFC 3339, or a date meaning the end of that day, UTC); now by default.
    #[arg(long)]
    pub as_of: Option<String>,
    /// List the ids in the event log instead.
    #[arg(long, conflicts_with_all = ["id", "as_of"])]
    pub list: bool,
}

pub(crate) async fn open_engine() -> Result<Engine, Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").ok();
    Ok(Engine::open(url.as_deref(), Arc::new(SystemClock)).await?)
}

/// A one-line progress bar on stderr, redrawn in place.
pub(crate) fn draw_progress(progress: RebuildProgress) {
    const WIDTH: u64 = 30;
    let total = progress.events_total.max(1);
    let done = progress.events_done.min(total);
    let filled = (done * WIDTH / total) as usize;
    let rate = progress.events_done as f64 / progress.elapsed.as_secs_f64().max(1e-9);
    eprint!(
        "\r[{}{}] {:>3}% {}/{} events, {:.0} events/s",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled),
        done * 100 / total,
        progress.events_done,
        progress.events_total,
        rate
    );
    let _ = std::io::stderr().flush();
}

pub async fn replay(args: ReplayArgs) -> CliResult {
    if args.status {
        let engine = open_engine().await?;
        println!(
            "{:<13} {:>22} {:>14} {:>8} {:>8}  last error",
            "projection", "position", "applied", "lag", "failures"
        );
        for status in engine.projection_status().await? {
            println!(
                "{:<13} {:>22} {:>14} {:>8} {:>8}  {}",
                status.projection,
                format!("{}/{}", status.transaction_id, status.position),
                status.events_applied,
                status.lag,
                status.failures,
                status.last_error.as_deref().unwrap_or("-"),
            );
        }
        engine.database().close().await;
        return Ok(());
    }
    let projections = match &args.projection {
        Some(name) => vec![name.parse::<Projection>()?],
        None => Vec::new(),
    };
    let engine = open_engine().await?;
    let started = std::time::Instant::now();
    let events = engine.rebuild_projections(projections, draw_progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    println!(
        "replayed {events} events into {} in {seconds:.2} s: {:.0} events/s",
        args.projection.as_deref().unwrap_or("every projection"),
        events as f64 / seconds.max(1e-9)
    );
    engine.database().close().await;
    Ok(())
}

fn parse_as_of(input: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(time) = DateTime::parse_from_rfc3339(input) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(input, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(23, 59, 59))
        .map(|end_of_day| end_of_day.and_utc())
        .ok_or_else(|| format!("--as-of {input:?} is neither RFC 3339 (2026-01-05T09:00:00Z) nor a date (2026-01-05)"))
}

pub async fn audit(args: AuditArgs) -> CliResult {
    let engine = open_engine().await?;
    if args.list {
        let ids = match args.aggregate {
            AuditedAggregate::Consent => engine.consent_ids().await?,
            AuditedAggregate::Payment => engine.payment_ids().await?,
        };
        for id in ids {
            println!("{id}");
        }
        return Ok(());
    }
    let id = args.id.unwrap_or_default();
    let as_of = args.as_of.as_deref().map(parse_as_of).transpose()?;
    match args.aggregate {
        AuditedAggregate::Consent => print_trail(&engine.audit_consent(ConsentId::parse(&id)?, as_of).await?)?,
        AuditedAggregate::Payment => print_trail(&engine.audit_payment(PaymentId::parse(&id)?, as_of).await?)?,
    }
    engine.database().close().await;
    Ok(())
}

fn print_trail<A>(trail: &AuditTrail<A>) -> CliResult
where
    A: Aggregate + Serialize,
    A::Event: Serialize,
{
    println!("{} {}", A::TYPE, trail.id);
    println!("events:");
    for recorded in &trail.events {
        let meta = &recorded.metadata;
        let later = if trail.is_known(recorded) {
            ""
        } else {
            "  (after as-of)"
        };
        println!(
            "  #{} {} {}  at {}  actor {}  user {}  correlation {}  causation {}{later}",
            recorded.sequence,
            recorded.event.event_type(),
            recorded.event.event_version(),
            meta.occurred_at.to_rfc3339(),
            meta.actor,
            meta.user.map(|u| u.to_string()).unwrap_or_else(|| "-".into()),
            meta.correlation_id,
            meta.causation_id,
        );
        println!("      {}", serde_json::to_string(&recorded.event)?);
    }
    match trail.as_of {
        Some(as_of) => println!("state as of {}:", as_of.to_rfc3339()),
        None => println!("state now:"),
    }
    println!("{}", serde_json::to_string_pretty(&trail.state)?);
    Ok(())
}
