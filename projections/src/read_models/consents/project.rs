//! The `consents` projection: Consent events folded into one row per consent.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::consent::{ConsentEvent, ConsentStatus, ExpiryCause};
use consentry_domain::{ConsentId, TenantId, UserId};
use consentry_store::{Backend, Statement};
use serde::Serialize;

use super::AccessKind;
use crate::feed::{self, DomainEvent, Interest};
use crate::read_models::account_information::PlanContext;
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::{aggregate_uuid, copy, CopyRows, Staged, Write};
use crate::{FeedEvent, ProjectionError};

/// Writes the consents a batch created on PostgreSQL: they cannot exist yet, so no conflict handling (which
/// costs as much as the insert itself); a duplicate would fail the batch loudly.
const COPY: &str = include_str!("sql/copy.postgres.sql");
/// Merges changed consents (on SQLite every consent of the batch): a column the batch did not touch (null)
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

/// Empties the real table at the end of a rebuild on SQLite.
const CLEAR: &[&str] = &[include_str!("sql/clear.sqlite.sql")];

const SHADOWS: &[Shadow] = &[Shadow {
    create: include_str!("sql/shadow.sqlite.sql"),
    key: include_str!("sql/shadow_key.sqlite.sql"),
    copy: include_str!("sql/copy_shadow.sqlite.sql"),
}];

/// Projection `consents`.
pub(crate) struct Consents;

impl ReadModel for Consents {
    fn name(&self) -> &'static str {
        "consents"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["consents"]
    }

    fn clear(&self) -> &'static [&'static str] {
        CLEAR
    }

    fn shadows(&self) -> &'static [Shadow] {
        SHADOWS
    }

    fn interest(&self) -> Interest {
        Interest {
            aggregate_types: &[feed::CONSENT],
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

/// What a batch changed about one consent; `None` leaves the stored column as it is.
#[derive(Debug, Default, Serialize)]
struct ConsentRow {
    /// The batch holds the consent's first event: the row is new and is inserted rather than upserted.
    #[serde(skip)]
    created: bool,
    consent_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<TenantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<UserId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frequency_per_day: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_consent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sca_approach: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sca_redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renewal_of: Option<ConsentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    renewed_by: Option<ConsentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    authorised_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_changed_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    event_count: i64,
}

impl ConsentRow {
    fn set_status(&mut self, status: ConsentStatus, at: DateTime<Utc>) {
        self.status = Some(status.as_str());
        self.status_changed_at = Some(at);
    }
}

fn expiry_cause(cause: ExpiryCause) -> &'static str {
    match cause {
        ExpiryCause::ValidUntilPassed => "validUntilPassed",
        ExpiryCause::BankReportedExpired => "bankReportedExpired",
    }
}

/// The serde spelling of a value that serialises to a JSON string (enums of the Berlin Group vocabulary).
fn spelling<T: Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

fn plan(events: &[FeedEvent], backend: Backend) -> Result<Vec<Write>, ProjectionError> {
    let mut rows: HashMap<&str, ConsentRow> = HashMap::new();
    for stored in events {
        // Skipped before decoding: the other aggregates' payloads are not this projection's cost.
        if stored.aggregate_type != feed::CONSENT {
            continue;
        }
        let DomainEvent::Consent(event) = stored.decode()? else {
            continue;
        };
        let at = stored.occurred_at()?;
        let row = rows.entry(stored.aggregate_id.as_str()).or_insert_with(|| ConsentRow {
            consent_id: stored.aggregate_id.clone(),
            ..ConsentRow::default()
        });
        row.event_count += 1;
        row.updated_at = Some(at);
        match event {
            ConsentEvent::ConsentRequested(request) => {
                row.created = true;
                row.tenant_id = Some(request.tenant);
                row.user_id = Some(request.user);
                row.bank = Some(request.bank.to_string());
                row.access = Some(AccessKind::of(&request.access).as_str());
                row.recurring = Some(request.recurring_indicator);
                row.frequency_per_day = Some(request.frequency_per_day);
                row.valid_until = Some(request.valid_until);
                row.renewal_of = request.renewal_of;
                row.requested_at = Some(at);
                row.set_status(ConsentStatus::Received, at);
            }
            ConsentEvent::BankConsentRecorded { bank_consent_id, sca } => {
                row.bank_consent_id = Some(bank_consent_id);
                row.sca_approach = sca.approach.as_ref().and_then(spelling);
                row.sca_redirect_url = sca.redirect_url;
            }
            ConsentEvent::ConsentAuthorised => {
                row.authorised_at = Some(at);
                row.set_status(ConsentStatus::Valid, at);
            }
            ConsentEvent::ConsentRejected { reason } => {
                row.status_reason = Some(reason);
                row.set_status(ConsentStatus::Rejected, at);
            }
            ConsentEvent::ConsentExpired { cause } => {
                row.status_reason = Some(expiry_cause(cause).to_owned());
                row.set_status(ConsentStatus::Expired, at);
            }
            ConsentEvent::ConsentRevokedByPsu => row.set_status(ConsentStatus::RevokedByPsu, at),
            ConsentEvent::ConsentTerminatedByTpp => row.set_status(ConsentStatus::TerminatedByTpp, at),
            ConsentEvent::RenewalLinked { renewed_by } => row.renewed_by = Some(renewed_by),
            ConsentEvent::UnattendedAccessCounted { .. } | ConsentEvent::BankAskedToWait { .. } => {}
        }
    }
    // Key order makes the writes walk the primary-key index in order instead of at random.
    let mut rows: Vec<ConsentRow> = rows.into_values().collect();
    rows.sort_unstable_by(|a, b| a.consent_id.cmp(&b.consent_id));
    match backend {
        Backend::Postgres => {
            let (created, updated): (Vec<ConsentRow>, Vec<ConsentRow>) = rows.into_iter().partition(|row| row.created);
            let mut writes: Vec<Write> = copy(COPY, &created, encode)?.into_iter().collect();
            writes.extend(STAGED.writes(backend, &updated, encode)?);
            Ok(writes)
        }
        Backend::Sqlite => STAGED.writes(backend, &rows, encode),
    }
}

/// The row's fields in the order of the `COPY` statements' columns.
fn encode(row: &ConsentRow, rows: &mut CopyRows) -> Result<(), ProjectionError> {
    rows.row(20)
        .field(aggregate_uuid("Consent", &row.consent_id)?)?
        .field(row.tenant_id.map(|t| t.as_uuid()))?
        .field(row.user_id.map(|u| u.as_uuid()))?
        .field(row.bank.as_deref())?
        .field(row.access)?
        .field(row.recurring)?
        .field(row.frequency_per_day.map(i32::from))?
        .field(row.valid_until)?
        .field(row.status)?
        .field(row.status_reason.as_deref())?
        .field(row.bank_consent_id.as_deref())?
        .field(row.sca_approach.as_deref())?
        .field(row.sca_redirect_url.as_deref())?
        .field(row.renewal_of.map(|c| c.as_uuid()))?
        .field(row.renewed_by.map(|c| c.as_uuid()))?
        .field(row.requested_at)?
        .field(row.authorised_at)?
        .field(row.status_changed_at)?
        .field(row.updated_at)?
        .field(row.event_count)?;
    Ok(())
}
