//! Read models `payments` (one row per payment order: phase, ISO 20022 status, attempts, links and times) and
//! `payment_status_changes` (every status a payment reached, with when).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consentry_domain::payment::{BankPayment, InitiationPhase, PaymentEvent, TransactionStatus};
use consentry_domain::{TenantId, UserId};
use serde::Serialize;

use super::{aggregate_uuid, column_arrays, Columns, Dialect, Write};
use crate::feed::{self, DomainEvent};
use crate::{FeedEvent, ProjectionError};

pub(super) const CLEAR: &[&str] = &["DELETE FROM payment_status_changes", "DELETE FROM payments"];

// The statements' shared text, as literals `concat!` can join: the column list; the rows as typed arrays
// (`UNNEST`, PostgreSQL) or as a JSON array (`json_each`, SQLite); and the upsert's conflict clause, in which a
// column the batch did not touch (null) keeps its stored value.
macro_rules! insert_into {
    () => {
        "
INSERT INTO payments (payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
                      idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
                      cancellation_requested, requested_at, status_changed_at, updated_at, event_count)"
    };
}
macro_rules! from_arrays {
    () => {
        "
SELECT payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount::numeric, currency,
       idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
       cancellation_requested, requested_at, status_changed_at, updated_at, event_count
FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::text[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], $15::integer[],
            $16::boolean[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[], $20::bigint[])
         AS r(payment_id, tenant_id, user_id, bank, service, product, creditor_name, amount, currency,
              idempotency_key, phase, status, bank_payment_id, sca_redirect_url, attempts,
              cancellation_requested, requested_at, status_changed_at, updated_at, event_count)"
    };
}
macro_rules! from_json {
    () => {
        "
SELECT value ->> 'payment_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank', value ->> 'service',
       value ->> 'product', value ->> 'creditor_name', value ->> 'amount', value ->> 'currency',
       value ->> 'idempotency_key', value ->> 'phase', value ->> 'status', value ->> 'bank_payment_id',
       value ->> 'sca_redirect_url', value ->> 'attempts', value ->> 'cancellation_requested',
       value ->> 'requested_at', value ->> 'status_changed_at', value ->> 'updated_at', value ->> 'event_count'
FROM json_each($1)"
    };
}
macro_rules! on_conflict {
    () => {
        "
ON CONFLICT (payment_id) DO UPDATE SET
    tenant_id              = coalesce(excluded.tenant_id, payments.tenant_id),
    user_id                = coalesce(excluded.user_id, payments.user_id),
    bank                   = coalesce(excluded.bank, payments.bank),
    service                = coalesce(excluded.service, payments.service),
    product                = coalesce(excluded.product, payments.product),
    creditor_name          = coalesce(excluded.creditor_name, payments.creditor_name),
    amount                 = coalesce(excluded.amount, payments.amount),
    currency               = coalesce(excluded.currency, payments.currency),
    idempotency_key        = coalesce(excluded.idempotency_key, payments.idempotency_key),
    phase                  = coalesce(excluded.phase, payments.phase),
    status                 = coalesce(excluded.status, payments.status),
    bank_payment_id        = coalesce(excluded.bank_payment_id, payments.bank_payment_id),
    sca_redirect_url       = coalesce(excluded.sca_redirect_url, payments.sca_redirect_url),
    attempts               = coalesce(excluded.attempts, payments.attempts),
    cancellation_requested = coalesce(excluded.cancellation_requested, payments.cancellation_requested),
    requested_at           = coalesce(excluded.requested_at, payments.requested_at),
    status_changed_at      = coalesce(excluded.status_changed_at, payments.status_changed_at),
    updated_at             = coalesce(excluded.updated_at, payments.updated_at),
    event_count            = payments.event_count + excluded.event_count"
    };
}

/// Inserts the payments a batch created: they cannot exist yet, so no conflict handling (which costs as much
/// as the insert itself); a duplicate would fail the batch loudly.
const INSERT_POSTGRES: &str = concat!(insert_into!(), from_arrays!());
const INSERT_SQLITE: &str = concat!(insert_into!(), from_json!());
/// Upserts changed payments. (SQLite needs a WHERE clause before ON CONFLICT after a SELECT.)
const UPSERT_POSTGRES: &str = concat!(insert_into!(), from_arrays!(), on_conflict!());
const UPSERT_SQLITE: &str = concat!(insert_into!(), from_json!(), "\nWHERE true", on_conflict!());

/// Status changes are keyed by the event's sequence: each event is applied once, so a row is written once,
/// and a second write of it would fail the batch loudly rather than be ignored.
const INSERT_CHANGES_POSTGRES: &str = "
INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT payment_id, sequence, status, changed_at
FROM json_to_recordset($1::json) AS r(payment_id uuid, sequence bigint, status text, changed_at timestamptz)";

const INSERT_CHANGES_SQLITE: &str = "
INSERT INTO payment_status_changes (payment_id, sequence, status, changed_at)
SELECT value ->> 'payment_id', value ->> 'sequence', value ->> 'status', value ->> 'changed_at'
FROM json_each($1)";

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
    amount: Option<String>,
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

pub(super) fn plan(events: &[FeedEvent], dialect: Dialect) -> Result<Vec<Write>, ProjectionError> {
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
                row.amount = Some(request.instructed_amount.amount().to_string());
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
            PaymentEvent::InitiationOutcomeReconciled { found: None } => {
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
    let (mut created, mut updated): (Vec<PaymentRow>, Vec<PaymentRow>) =
        rows.into_values().partition(|row| row.created);
    // Key order makes the inserts walk the primary-key index in order instead of at random.
    created.sort_unstable_by(|a, b| a.payment_id.cmp(&b.payment_id));
    updated.sort_unstable_by(|a, b| a.payment_id.cmp(&b.payment_id));
    changes.sort_unstable_by(|a, b| (a.payment_id, a.sequence).cmp(&(b.payment_id, b.sequence)));
    let writes = match dialect {
        Dialect::Postgres => [
            columns(created, INSERT_POSTGRES)?,
            columns(updated, UPSERT_POSTGRES)?,
            Write::json(INSERT_CHANGES_POSTGRES, &changes)?,
        ],
        Dialect::Sqlite => [
            Write::json(INSERT_SQLITE, &created)?,
            Write::json(UPSERT_SQLITE, &updated)?,
            Write::json(INSERT_CHANGES_SQLITE, &changes)?,
        ],
    };
    Ok(writes.into_iter().flatten().collect())
}

/// The rows as one array per column, in the order of the `UNNEST` statements.
fn columns(rows: Vec<PaymentRow>, sql: &'static str) -> Result<Option<Write>, ProjectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let columns = column_arrays!(rows, row => {
        id: aggregate_uuid("Payment", &row.payment_id)?,
        tenant: row.tenant_id.map(|t| t.as_uuid()),
        user: row.user_id.map(|u| u.as_uuid()),
        bank: row.bank,
        service: row.service,
        product: row.product,
        creditor: row.creditor_name,
        amount: row.amount,
        currency: row.currency,
        key: row.idempotency_key,
        phase: row.phase,
        status: row.status,
        bank_payment: row.bank_payment_id,
        redirect: row.sca_redirect_url,
        attempts: row.attempts.map(|a| i32::try_from(a).unwrap_or(i32::MAX)),
        cancellation: row.cancellation_requested,
        requested: row.requested_at,
        changed: row.status_changed_at,
        updated: row.updated_at,
        count: row.event_count,
    });
    Ok(Some(columns.into_write(sql)))
}
