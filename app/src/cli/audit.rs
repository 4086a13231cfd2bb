//! `consentry audit`: an aggregate's events with their metadata, and its state as of a time (now by default);
//! `--list` prints the ids in the event log instead; `--json` prints either as one JSON document. It uses the
//! store `DATABASE_URL` names, the default SQLite file otherwise, like the Engine.

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, ValueEnum};
use consentry::audit::AuditTrail;
use consentry_domain::{Actor, ConsentId, PaymentId, UserId};
use cqrs_es::{Aggregate, DomainEvent};
use serde::Serialize;

use super::{open_engine, CliResult};

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
    /// Print one JSON document: the list of ids, or `{aggregate, id, asOf, events, state}`.
    #[arg(long)]
    pub json: bool,
}

/// An audit trail as `--json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrailDocument<'a, A: Aggregate> {
    aggregate: String,
    id: &'a str,
    as_of: Option<String>,
    events: Vec<EventLine<'a, A::Event>>,
    state: &'a A,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventLine<'a, E> {
    sequence: usize,
    event_type: String,
    event_version: String,
    occurred_at: String,
    actor: &'a Actor,
    user: Option<UserId>,
    correlation_id: uuid::Uuid,
    causation_id: uuid::Uuid,
    /// Stored after the as-of time: listed, but not part of the state shown.
    after_as_of: bool,
    event: &'a E,
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

pub async fn run(args: AuditArgs) -> CliResult {
    let engine = open_engine().await?;
    if args.list {
        let ids = match args.aggregate {
            AuditedAggregate::Consent => engine.consent_ids().await?,
            AuditedAggregate::Payment => engine.payment_ids().await?,
        };
        if args.json {
            let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
            println!("{}", serde_json::to_string(&ids)?);
        } else {
            for id in ids {
                println!("{id}");
            }
        }
        engine.database().close().await;
        return Ok(());
    }
    let id = args.id.unwrap_or_default();
    let as_of = args.as_of.as_deref().map(parse_as_of).transpose()?;
    match args.aggregate {
        AuditedAggregate::Consent => {
            print_trail(&engine.audit_consent(ConsentId::parse(&id)?, as_of).await?, args.json)?
        }
        AuditedAggregate::Payment => {
            print_trail(&engine.audit_payment(PaymentId::parse(&id)?, as_of).await?, args.json)?
        }
    }
    engine.database().close().await;
    Ok(())
}

fn print_trail<A>(trail: &AuditTrail<A>, json: bool) -> CliResult
where
    A: Aggregate + Serialize,
    A::Event: Serialize,
{
    if json {
        let document = TrailDocument::<A> {
            aggregate: A::TYPE.to_owned(),
            id: &trail.id,
            as_of: trail.as_of.map(|t| t.to_rfc3339()),
            events: trail
                .events
                .iter()
                .map(|recorded| EventLine {
                    sequence: recorded.sequence,
                    event_type: recorded.event.event_type(),
                    event_version: recorded.event.event_version(),
                    occurred_at: recorded.metadata.occurred_at.to_rfc3339(),
                    actor: &recorded.metadata.actor,
                    user: recorded.metadata.user,
                    correlation_id: recorded.metadata.correlation_id,
                    causation_id: recorded.metadata.causation_id,
                    after_as_of: !trail.is_known(recorded),
                    event: &recorded.event,
                })
                .collect(),
            state: &trail.state,
        };
        println!("{}", serde_json::to_string(&document)?);
        return Ok(());
    }
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
