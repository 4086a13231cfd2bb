//! Read model `consents`: one row per consent with its status, bank, validUntil, links (SCA redirect, the
//! consent it renews and the one renewing it) and the times of its lifecycle. Days left are computed by the
//! `consent_overview` view when read.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::consent::{ConsentAccess, ConsentEvent, ConsentStatus, ExpiryCause};
use consentry_domain::{ConsentId, TenantId, UserId};
use serde::Serialize;

use super::{aggregate_uuid, column_arrays, Columns, Dialect, Write};
use crate::feed::{self, DomainEvent};
use crate::{FeedEvent, ProjectionError};

pub(super) const CLEAR: &[&str] = &["DELETE FROM consents"];

// The statements' shared text, as literals `concat!` can join: the column list; the rows as typed arrays
// (`UNNEST`, PostgreSQL) or as a JSON array (`json_each`, SQLite); and the upsert's conflict clause, in which a
// column the batch did not touch (null) keeps its stored value.
macro_rules! insert_into {
    () => {
        "
INSERT INTO consents (consent_id, tenant_id, user_id, bank, access, recurring, frequency_per_day, valid_until,
                      status, status_reason, bank_consent_id, sca_approach, sca_redirect_url, renewal_of,
                      renewed_by, requested_at, authorised_at, status_changed_at, updated_at, event_count)"
    };
}
macro_rules! from_arrays {
    () => {
        "
SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::boolean[], $7::integer[],
                     $8::date[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::uuid[],
                     $15::uuid[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
                     $20::bigint[])"
    };
}
macro_rules! from_json {
    () => {
        "
SELECT value ->> 'consent_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank', value ->> 'access',
       value ->> 'recurring', value ->> 'frequency_per_day', value ->> 'valid_until', value ->> 'status',
       value ->> 'status_reason', value ->> 'bank_consent_id', value ->> 'sca_approach',
       value ->> 'sca_redirect_url', value ->> 'renewal_of', value ->> 'renewed_by', value ->> 'requested_at',
       value ->> 'authorised_at', value ->> 'status_changed_at', value ->> 'updated_at', value ->> 'event_count'
FROM json_each($1)"
    };
}
macro_rules! on_conflict {
    () => {
        "
ON CONFLICT (consent_id) DO UPDATE SET
    tenant_id         = coalesce(excluded.tenant_id, consents.tenant_id),
    user_id           = coalesce(excluded.user_id, consents.user_id),
    bank              = coalesce(excluded.bank, consents.bank),
    access            = coalesce(excluded.access, consents.access),
    recurring         = coalesce(excluded.recurring, consents.recurring),
    frequency_per_day = coalesce(excluded.frequency_per_day, consents.frequency_per_day),
    valid_until       = coalesce(excluded.valid_until, consents.valid_until),
    status            = coalesce(excluded.status, consents.status),
    status_reason     = coalesce(excluded.status_reason, consents.status_reason),
    bank_consent_id   = coalesce(excluded.bank_consent_id, consents.bank_consent_id),
    sca_approach      = coalesce(excluded.sca_approach, consents.sca_approach),
    sca_redirect_url  = coalesce(excluded.sca_redirect_url, consents.sca_redirect_url),
    renewal_of        = coalesce(excluded.renewal_of, consents.renewal_of),
    renewed_by        = coalesce(excluded.renewed_by, consents.renewed_by),
    requested_at      = coalesce(excluded.requested_at, consents.requested_at),
    authorised_at     = coalesce(excluded.authorised_at, consents.authorised_at),
    status_changed_at = coalesce(excluded.status_changed_at, consents.status_changed_at),
    updated_at        = coalesce(excluded.updated_at, consents.updated_at),
    event_count       = consents.event_count + excluded.event_count"
    };
}

/// Inserts the consents a batch created: they cannot exist yet, so no conflict handling (which costs as much
/// as the insert itself); a duplicate would fail the batch loudly.
const INSERT_POSTGRES: &str = concat!(insert_into!(), from_arrays!());
const INSERT_SQLITE: &str = concat!(insert_into!(), from_json!());
/// Upserts changed consents. (SQLite needs a WHERE clause before ON CONFLICT after a SELECT.)
const UPSERT_POSTGRES: &str = concat!(insert_into!(), from_arrays!(), on_conflict!());
const UPSERT_SQLITE: &str = concat!(insert_into!(), from_json!(), "\nWHERE true", on_conflict!());

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

fn access_kind(access: &ConsentAccess) -> &'static str {
    match access {
        ConsentAccess::AllPsd2 => "allPsd2",
        ConsentAccess::AvailableAccounts => "availableAccounts",
        ConsentAccess::Dedicated { .. } => "dedicated",
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

pub(super) fn plan(events: &[FeedEvent], dialect: Dialect) -> Result<Vec<Write>, ProjectionError> {
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
                row.access = Some(access_kind(&request.access));
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
            ConsentEvent::UnattendedAccessCounted { .. } => {}
        }
    }
    let (mut created, mut updated): (Vec<ConsentRow>, Vec<ConsentRow>) =
        rows.into_values().partition(|row| row.created);
    // Key order makes the inserts walk the primary-key index in order instead of at random.
    created.sort_unstable_by(|a, b| a.consent_id.cmp(&b.consent_id));
    updated.sort_unstable_by(|a, b| a.consent_id.cmp(&b.consent_id));
    let writes = match dialect {
        Dialect::Postgres => [columns(created, INSERT_POSTGRES)?, columns(updated, UPSERT_POSTGRES)?],
        Dialect::Sqlite => [
            Write::json(INSERT_SQLITE, &created)?,
            Write::json(UPSERT_SQLITE, &updated)?,
        ],
    };
    Ok(writes.into_iter().flatten().collect())
}

/// The rows as one array per column, in the order of the `UNNEST` statements.
fn columns(rows: Vec<ConsentRow>, sql: &'static str) -> Result<Option<Write>, ProjectionError> {
    if rows.is_empty() {
        return Ok(None);
    }
    let columns = column_arrays!(rows, row => {
        id: aggregate_uuid("Consent", &row.consent_id)?,
        tenant: row.tenant_id.map(|t| t.as_uuid()),
        user: row.user_id.map(|u| u.as_uuid()),
        bank: row.bank,
        access: row.access,
        recurring: row.recurring,
        frequency: row.frequency_per_day.map(i32::from),
        valid_until: row.valid_until,
        status: row.status,
        reason: row.status_reason,
        bank_consent: row.bank_consent_id,
        approach: row.sca_approach,
        redirect: row.sca_redirect_url,
        renewal_of: row.renewal_of.map(|c| c.as_uuid()),
        renewed_by: row.renewed_by.map(|c| c.as_uuid()),
        requested: row.requested_at,
        authorised: row.authorised_at,
        changed: row.status_changed_at,
        updated: row.updated_at,
        count: row.event_count,
    });
    Ok(Some(columns.into_write(sql)))
}
