//! The `payments` projection: Payment events folded into one row per payment order, and one row per status it reached.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consentry_domain::payment::{BankPayment, InitiationPhase, PaymentEvent, TransactionStatus};
use consentry_domain::{TenantId, UserId};
use consentry_store::{Backend, Statement};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::feed::{self, DomainEvent, Interest};
use crate::read_models::account_information::PlanContext;
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::{aggregate_uuid, copy, CopyRows, Staged, Write};
use crate::{FeedEvent, ProjectionError};

/// Writes the payments a batch created on PostgreSQL: they cannot exist yet, so no conflict handling (which
/// costs as much as the insert itself); a duplicate would fail the batch loudly.
const COPY: &str = include_str!("sql/copy.postgres.sql");
/// Merges changed payments (on SQLite every payment of the batch): a column the batch did not touch (null)
/// keeps its stored value.
const STAGED: Staged = Staged {
    create: Statement::both(include_str!("sql/create_incoming.sql")),
    fill: Statement::each(
        include_str!("sql/stage.postgres.sql"),
        include_str!("sql/stage.sqlite.sql"),
    ),
    merge: Statement::both(include_str!("sql/merge.sql")),
    clear: Statement::both(include_str!("sql/clear_incoming.sql")),
};
/// Status changes are keyed by the event's sequence: each event is applied once, so a row is written once,
/// and a second write of it would fail the batch loudly rather than be ignored.
const COPY_STATUS_CHANGES: &str = include_str!("sql/copy_status_changes.postgres.sql");
/// The same on SQLite, from a JSON array.
const INSERT_STATUS_CHANGES: Statement = Statement::both(include_str!("sql/insert_status_changes.sqlite.sql"));

/// Empties the real tables at the end of a rebuild on SQLite, children first.
const CLEAR: &[&str] = &[
    include_str!("sql/clear_status_changes.sqlite.sql"),
    include_str!("sql/clear.sqlite.sql"),
];

const SHADOWS: &[Shadow] = &[
    Shadow {
        create: include_str!("sql/shadow.sqlite.sql"),
        key: include_str!("sql/shadow_key.sqlite.sql"),
        copy: include_str!("sql/copy_shadow.sqlite.sql"),
    },
    Shadow {
        create: include_str!("sql/status_changes_shadow.sqlite.sql"),
        key: include_str!("sql/status_changes_shadow_key.sqlite.sql"),
        copy: include_str!("sql/status_changes_copy_shadow.sqlite.sql"),
    },
];

/// Projection `payments`.
pub(crate) struct Payments;

impl ReadModel for Payments {
    fn name(&self) -> &'static str {
        "payments"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["payments", "payment_status_changes"]
    }

    fn clear(&self) -> &'static [&'static str] {
        CLEAR
    }

    fn shadows(&self) -> &'static [Shadow] {
        SHADOWS
    }

    fn insert_only(&self) -> &'static [&'static str] {
        &["payment_status_changes"]
    }

    fn interest(&self) -> Interest {
        Interest {
            aggregate_types: &[feed::PAYMENT],
            event_types: &[],
        }
    }

    fn needs(&self) -> Needs {
        Needs::Events
    }

    fn plan(&self, events: &[FeedEvent], backend: Backend, _: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        plan(events, backend)
    }
}

/// What a batch changed about one payment; `None` leaves the stored column as it is.
#[derive(Debug, Default, Serialize)]
struct PaymentRow {
    /// The batch holds the payment's first event: the row is new and is inserted rather than upserted.
    #[serde(skip)]
    created: bool,
    payment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<TenantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creditor_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_payment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sca_redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_requested: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_changed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    event_count: i64,
}

#[derive(Debug, Serialize)]
struct StatusChangeRow<'a> {
    payment_id: &'a str,
    sequence: i64,
    status: &'static str,
    changed_at: DateTime<Utc>,
}

fn phase_name(phase: InitiationPhase) -> &'static str {
    match phase {
        InitiationPhase::Ready => "ready",
        InitiationPhase::Sending => "sending",
        InitiationPhase::OutcomeUnknown => "outcomeUnknown",
        InitiationPhase::Submitted => "submitted",
    }
}

impl PaymentRow {
    fn record_bank_payment(&mut self, bank: BankPayment) -> TransactionStatus {
        self.phase = Some(phase_name(InitiationPhase::Submitted));
        self.bank_payment_id = Some(bank.bank_payment_id);
        if bank.sca.redirect_url.is_some() {
            self.sca_redirect_url = bank.sca.redirect_url;
        }
        bank.status
    }
}

fn plan(events: &[FeedEvent], backend: Backend) -> Result<Vec<Write>, ProjectionError> {
    let mut rows: HashMap<&str, PaymentRow> = HashMap::new();
    let mut changes = Vec::new();
    for stored in events {
        // Skipped before decoding: the other aggregates' payloads are not this projection's cost.
        if stored.aggregate_type != feed::PAYMENT {
            continue;
        }
        let DomainEvent::Payment(event) = stored.decode()? else {
            continue;
        };
        let at = stored.occurred_at()?;
        let row = rows.entry(stored.aggregate_id.as_str()).or_insert_with(|| PaymentRow {
            payment_id: stored.aggregate_id.clone(),
            ..PaymentRow::default()
        });
        row.event_count += 1;
        row.updated_at = Some(at);
        let new_status = match event {
            PaymentEvent::PaymentInitiationRequested(request) => {
                row.created = true;
                row.tenant_id = Some(request.tenant);
                row.user_id = Some(request.user);
                row.bank = Some(request.bank.to_string());
                row.service = serde_json::to_value(request.service)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                row.product = Some(request.product.as_str());
                row.creditor_name = Some(request.creditor_name);
                row.amount = Some(request.instructed_amount.amount());
                row.currency = Some(request.instructed_amount.currency().code().to_owned());
                row.idempotency_key = Some(request.idempotency_key);
                row.phase = Some(phase_name(InitiationPhase::Ready));
                row.attempts = Some(0);
                row.cancellation_requested = Some(false);
                row.requested_at = Some(at);
                None
            }
            PaymentEvent::InitiationAttemptStarted { attempt } => {
                row.phase = Some(phase_name(InitiationPhase::Sending));
                row.attempts = Some(attempt);
                None
            }
            PaymentEvent::BankPaymentRecorded(bank) => Some(row.record_bank_payment(bank)),
            PaymentEvent::InitiationRejected { .. } => {
                row.phase = Some(phase_name(InitiationPhase::Submitted));
                Some(TransactionStatus::Rjct)
            }
            PaymentEvent::InitiationOutcomeUnknown { .. } => {
                row.phase = Some(phase_name(InitiationPhase::OutcomeUnknown));
                None
            }
            PaymentEvent::InitiationOutcomeReconciled { found: Some(bank) } => Some(row.record_bank_payment(bank)),
            PaymentEvent::InitiationOutcomeReconciled { found: None } | PaymentEvent::InitiationNotSent { .. } => {
                row.phase = Some(phase_name(InitiationPhase::Ready));
                None
            }
            PaymentEvent::PaymentStatusObserved { status, .. } => Some(status),
            PaymentEvent::CancellationRequested => {
                row.cancellation_requested = Some(true);
                None
            }
            PaymentEvent::PaymentCancelledBeforeSending => {
                row.phase = Some(phase_name(InitiationPhase::Submitted));
                Some(TransactionStatus::Canc)
            }
            // The due-work schedule drops the payment's polling; its status stays the last one seen.
            PaymentEvent::StatusPollingStopped | PaymentEvent::PaymentScaStatusObserved { .. } => None,
            PaymentEvent::InitiationFoundInAccount { booked, .. } => {
                row.phase = Some(phase_name(InitiationPhase::Submitted));
                Some(if booked {
                    TransactionStatus::Acsc
                } else {
                    TransactionStatus::Actc
                })
            }
            PaymentEvent::PaymentAuthorisationStarted { sca, .. } => {
                if sca.redirect_url.is_some() {
                    row.sca_redirect_url = sca.redirect_url;
                }
                None
            }
        };
        if let Some(status) = new_status {
            row.status = Some(status.code());
            row.status_changed_at = Some(at);
            changes.push(StatusChangeRow {
                payment_id: &stored.aggregate_id,
                sequence: stored.sequence,
                status: status.code(),
                changed_at: at,
            });
        }
    }
    // Key order makes the writes walk the primary-key index in order instead of at random.
    let mut rows: Vec<PaymentRow> = rows.into_values().collect();
    rows.sort_unstable_by(|a, b| a.payment_id.cmp(&b.payment_id));
    changes.sort_unstable_by(|a, b| (a.payment_id, a.sequence).cmp(&(b.payment_id, b.sequence)));
    match backend {
        Backend::Postgres => {
            let (created, updated): (Vec<PaymentRow>, Vec<PaymentRow>) = rows.into_iter().partition(|row| row.created);
            let mut writes: Vec<Write> = copy(COPY, &created, encode)?.into_iter().collect();
            writes.extend(STAGED.writes(backend, &updated, encode)?);
            writes.extend(copy(COPY_STATUS_CHANGES, &changes, encode_status_change)?);
            Ok(writes)
        }
        Backend::Sqlite => {
            let mut writes = STAGED.writes(backend, &rows, encode)?;
            writes.extend(Write::json(INSERT_STATUS_CHANGES, &changes)?);
            Ok(writes)
        }
    }
}

/// The row's fields in the order of the `COPY` statements' columns.
fn encode(row: &PaymentRow, rows: &mut CopyRows) -> Result<(), ProjectionError> {
    rows.row(20)
        .field(aggregate_uuid("Payment", &row.payment_id)?)?
        .field(row.tenant_id.map(|t| t.as_uuid()))?
        .field(row.user_id.map(|u| u.as_uuid()))?
        .field(row.bank.as_deref())?
        .field(row.service.as_deref())?
        .field(row.product)?
        .field(row.creditor_name.as_deref())?
        .field(row.amount)?
        .field(row.currency.as_deref())?
        .field(row.idempotency_key)?
        .field(row.phase)?
        .field(row.status)?
        .field(row.bank_payment_id.as_deref())?
        .field(row.sca_redirect_url.as_deref())?
        .field(row.attempts.map(|a| i32::try_from(a).unwrap_or(i32::MAX)))?
        .field(row.cancellation_requested)?
        .field(row.requested_at)?
        .field(row.status_changed_at)?
        .field(row.updated_at)?
        .field(row.event_count)?;
    Ok(())
}

/// The status change's fields in the order of `COPY_STATUS_CHANGES`' columns.
fn encode_status_change(change: &StatusChangeRow, rows: &mut CopyRows) -> Result<(), ProjectionError> {
    rows.row(4)
        .field(aggregate_uuid("Payment", change.payment_id)?)?
        .field(change.sequence)?
        .field(change.status)?
        .field(change.changed_at)?;
    Ok(())
}
