//! The `due_work` projection: Consent and Payment events turned into the work they make due.
//!
//! - A payment the bank has (recorded, or found by reconciliation) without a final status is polled from its
//!   submission on (`paymentPoll`, first due 5 s after it); a final status, a rejection, a cancellation before
//!   sending or the end of polling drop it.
//! - A payment whose initiation outcome is unknown is reconciled at once (`paymentReconcile`); the
//!   reconciliation's outcome drops it.
//! - A requested consent expires at the end of its validUntil (`consentExpiry`); an authorised one is synced
//!   unattended from then on (`consentSync`); a consent in a final status has no work left.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use consentry_domain::consent::ConsentEvent;
use consentry_domain::payment::PaymentEvent;
use consentry_domain::sca::ScaApproach;
use consentry_domain::schedule::{next_status_poll, SCA_STATUS_EVERY};
use consentry_store::{Backend, Statement};
use serde::Serialize;

use super::query::WorkKind;
use crate::feed::{self, DomainEvent, Interest};
use crate::read_models::account_information::PlanContext;
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::{Columns, Write};
use crate::{FeedEvent, ProjectionError};

/// Schedules work: a row that exists is rescheduled (and its failed attempts forgotten); leases stay.
const SCHEDULE: Statement = Statement::each(
    include_str!("sql/schedule.postgres.sql"),
    include_str!("sql/schedule.sqlite.sql"),
);
/// Drops work that is no longer due.
const DROP: Statement = Statement::each(
    include_str!("sql/drop.postgres.sql"),
    include_str!("sql/drop.sqlite.sql"),
);

/// Empties the real table at the end of a rebuild on SQLite.
const CLEAR: &[&str] = &[include_str!("sql/clear.sqlite.sql")];

const SHADOWS: &[Shadow] = &[Shadow {
    create: include_str!("sql/shadow.sqlite.sql"),
    key: include_str!("sql/shadow_key.sqlite.sql"),
    copy: include_str!("sql/copy_shadow.sqlite.sql"),
}];

/// Projection `due_work`.
pub(crate) struct DueWork;

impl ReadModel for DueWork {
    fn name(&self) -> &'static str {
        "due_work"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["due_work"]
    }

    fn clear(&self) -> &'static [&'static str] {
        CLEAR
    }

    fn shadows(&self) -> &'static [Shadow] {
        SHADOWS
    }

    fn interest(&self) -> Interest {
        Interest {
            aggregate_types: &[],
            event_types: SCHEDULING,
        }
    }

    fn needs(&self) -> Needs {
        Needs::Events
    }

    fn plan(&self, events: &[FeedEvent], backend: Backend, _: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        plan(events, backend)
    }
}

/// The events that schedule or end work: the others (a consent's accesses, a payment's order…) are not even
/// decoded.
const SCHEDULING: &[&str] = &[
    "BankPaymentRecorded",
    "InitiationOutcomeUnknown",
    "InitiationNotSent",
    "InitiationAttemptStarted",
    "InitiationOutcomeReconciled",
    "InitiationFoundInAccount",
    "InitiationRejected",
    "PaymentStatusObserved",
    "PaymentCancelledBeforeSending",
    "StatusPollingStopped",
    "PaymentAuthorisationStarted",
    "PaymentScaStatusObserved",
    "ConsentRequested",
    "ConsentAuthorised",
    "ConsentRejected",
    "ConsentExpired",
    "ConsentRevokedByPsu",
    "ConsentTerminatedByTpp",
];

/// What the batch leaves of one kind of work on one aggregate: the last event decides.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Plan {
    Schedule { since: DateTime<Utc>, due: DateTime<Utc> },
    Drop,
}

#[derive(Serialize)]
struct ScheduleRow<'a> {
    kind: &'static str,
    aggregate_id: &'a str,
    since_ms: i64,
    due_ms: i64,
}

#[derive(Serialize)]
struct DropRow<'a> {
    kind: &'static str,
    aggregate_id: &'a str,
}

/// The work of a payment the bank has: polled from `at` on, unless its status is already final.
fn polled_from(at: DateTime<Utc>, final_status: bool) -> Plan {
    if final_status {
        return Plan::Drop;
    }
    let due = next_status_poll(at, at).unwrap_or(at);
    Plan::Schedule { since: at, due }
}

fn plan(events: &[FeedEvent], backend: Backend) -> Result<Vec<Write>, ProjectionError> {
    let mut plans: HashMap<(WorkKind, &str), Plan> = HashMap::new();
    for stored in events {
        let scheduling = stored.aggregate_type == feed::CONSENT || stored.aggregate_type == feed::PAYMENT;
        if !scheduling || !SCHEDULING.contains(&stored.event_type.as_str()) {
            continue;
        }
        let id = stored.aggregate_id.as_str();
        let mut set = |kind: WorkKind, plan: Plan| {
            plans.insert((kind, id), plan);
        };
        match stored.decode()? {
            DomainEvent::Payment(event) => {
                let at = stored.occurred_at()?;
                match event {
                    PaymentEvent::BankPaymentRecorded(bank) => {
                        set(WorkKind::PaymentPoll, polled_from(at, bank.status.is_final()));
                    }
                    PaymentEvent::InitiationNotSent { retry_at, .. } => {
                        let due = retry_at.unwrap_or(at);
                        set(WorkKind::PaymentSend, Plan::Schedule { since: at, due });
                    }
                    PaymentEvent::InitiationAttemptStarted { .. } | PaymentEvent::PaymentCancelledBeforeSending => {
                        set(WorkKind::PaymentSend, Plan::Drop);
                        if matches!(event, PaymentEvent::PaymentCancelledBeforeSending) {
                            set(WorkKind::PaymentPoll, Plan::Drop);
                        }
                    }
                    PaymentEvent::InitiationOutcomeUnknown { .. } => {
                        set(WorkKind::PaymentReconcile, Plan::Schedule { since: at, due: at });
                    }
                    PaymentEvent::InitiationFoundInAccount { .. } => set(WorkKind::PaymentReconcile, Plan::Drop),
                    PaymentEvent::PaymentAuthorisationStarted { sca, .. }
                        if sca.approach == Some(ScaApproach::Decoupled) =>
                    {
                        let due = at + SCA_STATUS_EVERY;
                        set(WorkKind::PaymentAuthorisation, Plan::Schedule { since: at, due });
                    }
                    PaymentEvent::PaymentScaStatusObserved { sca_status } if sca_status.is_final() => {
                        set(WorkKind::PaymentAuthorisation, Plan::Drop);
                    }
                    PaymentEvent::InitiationOutcomeReconciled { found } => {
                        set(WorkKind::PaymentReconcile, Plan::Drop);
                        if let Some(bank) = found {
                            set(WorkKind::PaymentPoll, polled_from(at, bank.status.is_final()));
                        }
                    }
                    PaymentEvent::PaymentStatusObserved { status } if status.is_final() => {
                        set(WorkKind::PaymentPoll, Plan::Drop);
                    }
                    PaymentEvent::InitiationRejected { .. } | PaymentEvent::StatusPollingStopped => {
                        set(WorkKind::PaymentPoll, Plan::Drop)
                    }
                    PaymentEvent::PaymentInitiationRequested(_)
                    | PaymentEvent::PaymentStatusObserved { .. }
                    | PaymentEvent::CancellationRequested
                    | PaymentEvent::PaymentScaStatusObserved { .. }
                    | PaymentEvent::PaymentAuthorisationStarted { .. } => {}
                }
            }
            DomainEvent::Consent(event) => {
                let at = stored.occurred_at()?;
                match event {
                    ConsentEvent::ConsentRequested(request) => {
                        // Expired once the clock's day is after validUntil: at the start of the next day.
                        let end = (request.valid_until + Duration::days(1))
                            .and_time(NaiveTime::MIN)
                            .and_utc();
                        set(WorkKind::ConsentExpiry, Plan::Schedule { since: at, due: end });
                    }
                    ConsentEvent::ConsentAuthorised => {
                        set(WorkKind::ConsentSync, Plan::Schedule { since: at, due: at });
                    }
                    ConsentEvent::ConsentRejected { .. }
                    | ConsentEvent::ConsentExpired { .. }
                    | ConsentEvent::ConsentRevokedByPsu
                    | ConsentEvent::ConsentTerminatedByTpp => {
                        set(WorkKind::ConsentExpiry, Plan::Drop);
                        set(WorkKind::ConsentSync, Plan::Drop);
                    }
                    ConsentEvent::BankConsentRecorded { .. }
                    | ConsentEvent::RenewalLinked { .. }
                    | ConsentEvent::UnattendedAccessCounted { .. }
                    | ConsentEvent::BankAskedToWait { .. } => {}
                }
            }
            DomainEvent::AccountData(_) | DomainEvent::Other => {}
        }
    }
    let mut scheduled = Vec::new();
    let mut dropped = Vec::new();
    for ((kind, aggregate_id), plan) in plans {
        match plan {
            Plan::Schedule { since, due } => scheduled.push(ScheduleRow {
                kind: kind.as_str(),
                aggregate_id,
                since_ms: since.timestamp_millis(),
                due_ms: due.timestamp_millis(),
            }),
            Plan::Drop => dropped.push(DropRow {
                kind: kind.as_str(),
                aggregate_id,
            }),
        }
    }
    // Key order, so concurrent batches lock rows in one order.
    scheduled.sort_unstable_by(|a, b| (a.kind, a.aggregate_id).cmp(&(b.kind, b.aggregate_id)));
    dropped.sort_unstable_by(|a, b| (a.kind, a.aggregate_id).cmp(&(b.kind, b.aggregate_id)));
    let writes = match backend {
        // Typed arrays, one per column: cheaper for the server than a JSON text to parse.
        Backend::Postgres => [scheduled_columns(&scheduled)?, dropped_columns(&dropped)?],
        Backend::Sqlite => [Write::json(SCHEDULE, &scheduled)?, Write::json(DROP, &dropped)?],
    };
    Ok(writes.into_iter().flatten().collect())
}

fn scheduled_columns(rows: &[ScheduleRow]) -> Result<Option<Write>, ProjectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Columns::default();
    columns.add(rows.iter().map(|r| r.kind).collect::<Vec<_>>())?;
    columns.add(rows.iter().map(|r| r.aggregate_id).collect::<Vec<_>>())?;
    columns.add(rows.iter().map(|r| r.since_ms).collect::<Vec<_>>())?;
    columns.add(rows.iter().map(|r| r.due_ms).collect::<Vec<_>>())?;
    Ok(Some(columns.into_write(SCHEDULE)))
}

fn dropped_columns(rows: &[DropRow]) -> Result<Option<Write>, ProjectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Columns::default();
    columns.add(rows.iter().map(|r| r.kind).collect::<Vec<_>>())?;
    columns.add(rows.iter().map(|r| r.aggregate_id).collect::<Vec<_>>())?;
    Ok(Some(columns.into_write(DROP)))
}
