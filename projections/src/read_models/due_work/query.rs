//! The `due_work` table as the scheduler's workers use it: claiming due rows with a lease, then rescheduling
//! or completing each, only while the lease is theirs; and what is due, for `consentry jobs status`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use consentry_store::{on_pool, Database, Statement};

use crate::read_models::queries::{QueryError, Table};

/// Claims up to `$5` rows of the kinds `$3` (a JSON array) due at `$4`, whose lease is free or has expired,
/// for owner `$1` until `$2`, oldest first; on PostgreSQL skipping rows another instance is claiming.
const CLAIM: Statement = Statement::each(
    include_str!("sql/claim.postgres.sql"),
    include_str!("sql/claim.sqlite.sql"),
);
/// Sets claimed rows' next due time and attempts and frees their leases, where the lease is still the owner's.
const RESCHEDULE: Statement = Statement::each(
    include_str!("sql/reschedule.postgres.sql"),
    include_str!("sql/reschedule.sqlite.sql"),
);
/// Deletes claimed rows whose work is done, where the lease is still the owner's.
const COMPLETE: Statement = Statement::each(
    include_str!("sql/complete.postgres.sql"),
    include_str!("sql/complete.sqlite.sql"),
);
/// Per kind: rows, rows due at `$1`, the oldest due time, rows leased.
const STATUS: Statement = Statement::both(include_str!("sql/status.sql"));
/// Per lease owner: rows held at `$1`, and until when.
const LEASES: Statement = Statement::both(include_str!("sql/leases.sql"));
/// The earliest moment a row of the kinds `$1` can be claimed.
const NEXT_DUE: Statement = Statement::each(
    include_str!("sql/next_due.postgres.sql"),
    include_str!("sql/next_due.sqlite.sql"),
);
/// Frees every lease of one owner.
const RELEASE: Statement = Statement::both(include_str!("sql/release.sql"));
/// When one kind of work on one aggregate is due.
const DUE_OF: Statement = Statement::both(include_str!("sql/due_of.sql"));

const TABLE: Table = Table::of("due_work");

/// The kinds of work that run on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkKind {
    /// Send again a payment whose attempt is known not to have reached the bank.
    PaymentSend,
    /// Follow the scaStatus of a payment's decoupled authorisation.
    PaymentAuthorisation,
    /// Read a submitted payment's status, on the guide's schedule.
    PaymentPoll,
    /// Find out what became of an initiation whose outcome is unknown.
    PaymentReconcile,
    /// Expire a consent whose validUntil has passed.
    ConsentExpiry,
    /// Sync a valid consent without the user, frequencyPerDay times a day.
    ConsentSync,
}

impl WorkKind {
    pub const ALL: [WorkKind; 6] = [
        WorkKind::PaymentSend,
        WorkKind::PaymentAuthorisation,
        WorkKind::PaymentPoll,
        WorkKind::PaymentReconcile,
        WorkKind::ConsentExpiry,
        WorkKind::ConsentSync,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            WorkKind::PaymentSend => "paymentSend",
            WorkKind::PaymentAuthorisation => "paymentAuthorisation",
            WorkKind::PaymentPoll => "paymentPoll",
            WorkKind::PaymentReconcile => "paymentReconcile",
            WorkKind::ConsentExpiry => "consentExpiry",
            WorkKind::ConsentSync => "consentSync",
        }
    }
}

impl fmt::Display for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WorkKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        WorkKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = WorkKind::ALL.iter().map(WorkKind::as_str).collect();
                format!("{text:?} is not a kind of work; the kinds are {}", known.join(", "))
            })
    }
}

/// A row claimed by a worker: the work, the moment its schedule counts from, when it was due, and how many
/// attempts at it failed in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub kind: WorkKind,
    pub aggregate_id: String,
    pub since: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub attempts: u32,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    kind: String,
    aggregate_id: String,
    since_ms: i64,
    due_ms: i64,
    attempts: i32,
}

fn millis(column: &'static str, ms: i64) -> Result<DateTime<Utc>, QueryError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| TABLE.corrupt(column, format!("{ms} is not a time")))
}

fn kinds_json(kinds: &[WorkKind]) -> String {
    serde_json::Value::from(kinds.iter().map(WorkKind::as_str).collect::<Vec<_>>()).to_string()
}

/// Claims up to `limit` rows of `kinds` due at `now` for `owner`, leased until `until`.
pub async fn claim(
    database: &Database,
    kinds: &[WorkKind],
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Claimed>, QueryError> {
    let sql = CLAIM.sql(database.backend());
    let kinds = kinds_json(kinds);
    let rows: Vec<ClaimedRow> = on_pool!(database, pool => sqlx::query_as(sql)
        .bind(owner)
        .bind(until.timestamp_millis())
        .bind(&kinds)
        .bind(now.timestamp_millis())
        .bind(limit)
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(|row| {
            Ok(Claimed {
                kind: row.kind.parse().map_err(|e: String| TABLE.corrupt("kind", e))?,
                aggregate_id: row.aggregate_id,
                since: millis("since_ms", row.since_ms)?,
                due: millis("due_ms", row.due_ms)?,
                attempts: u32::try_from(row.attempts).unwrap_or(0),
            })
        })
        .collect()
}

/// What becomes of a claimed row: due again (at `due`, after `attempts` failed attempts in a row), or done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled<'a> {
    Reschedule {
        work: &'a Claimed,
        due: DateTime<Utc>,
        attempts: u32,
    },
    Complete(&'a Claimed),
}

#[derive(serde::Serialize)]
struct RescheduleRow<'a> {
    kind: &'static str,
    aggregate_id: &'a str,
    due_ms: i64,
    attempts: i64,
}

#[derive(serde::Serialize)]
struct CompleteRow<'a> {
    kind: &'static str,
    aggregate_id: &'a str,
}

/// Records what became of a pass's claimed rows in two statements: the rescheduled ones get their next due
/// time and their lease freed, the done ones are deleted — each only while its lease is still `owner`'s (one
/// that expired and was taken by another worker, or whose row the projection dropped meanwhile, is left alone).
/// How many rows were still the owner's.
pub async fn settle(database: &Database, owner: &str, settled: &[Settled<'_>]) -> Result<u64, QueryError> {
    let mut rescheduled = Vec::new();
    let mut completed = Vec::new();
    for outcome in settled {
        match outcome {
            Settled::Reschedule { work, due, attempts } => rescheduled.push(RescheduleRow {
                kind: work.kind.as_str(),
                aggregate_id: &work.aggregate_id,
                due_ms: due.timestamp_millis(),
                attempts: i64::from(*attempts),
            }),
            Settled::Complete(work) => completed.push(CompleteRow {
                kind: work.kind.as_str(),
                aggregate_id: &work.aggregate_id,
            }),
        }
    }
    let mut kept = 0;
    for (statement, rows) in [
        (&RESCHEDULE, encode("rescheduled work", &rescheduled)?),
        (&COMPLETE, encode("completed work", &completed)?),
    ] {
        if rows == "[]" {
            continue;
        }
        let sql = statement.sql(database.backend());
        kept += on_pool!(database, pool => sqlx::query(sql)
            .bind(&rows)
            .bind(owner)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(kept)
}

fn encode<T: serde::Serialize>(what: &'static str, rows: &T) -> Result<String, QueryError> {
    serde_json::to_string(rows).map_err(|source| QueryError::Encoding { what, source })
}

/// Frees every lease `owner` holds (a worker shutting down hands its claimed work back at once); how many.
pub async fn release(database: &Database, owner: &str) -> Result<u64, QueryError> {
    let sql = RELEASE.sql(database.backend());
    Ok(on_pool!(database, pool => sqlx::query(sql)
        .bind(owner)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
}

/// The work of one kind: how much there is, how much is due, how late the oldest due row is, how much is
/// leased.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStatus {
    pub kind: String,
    pub total: i64,
    pub due: i64,
    pub oldest_due: Option<DateTime<Utc>>,
    pub leased: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    kind: String,
    total: i64,
    due: Option<i64>,
    oldest_due_ms: Option<i64>,
    leased: Option<i64>,
}

/// The work of every kind there is, at `now`.
pub async fn status(database: &Database, now: DateTime<Utc>) -> Result<Vec<KindStatus>, QueryError> {
    let sql = STATUS.sql(database.backend());
    let rows: Vec<StatusRow> = on_pool!(database, pool => sqlx::query_as(sql)
        .bind(now.timestamp_millis())
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(|row| {
            Ok(KindStatus {
                kind: row.kind,
                total: row.total,
                due: row.due.unwrap_or(0),
                oldest_due: row.oldest_due_ms.map(|ms| millis("due_ms", ms)).transpose()?,
                leased: row.leased.unwrap_or(0),
            })
        })
        .collect()
}

/// The leases one worker holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseHolder {
    pub owner: String,
    pub held: i64,
    pub until: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct LeaseRow {
    lease_owner: Option<String>,
    held: i64,
    until_ms: Option<i64>,
}

/// Who holds leases at `now`, and how many.
pub async fn leases(database: &Database, now: DateTime<Utc>) -> Result<Vec<LeaseHolder>, QueryError> {
    let sql = LEASES.sql(database.backend());
    let rows: Vec<LeaseRow> = on_pool!(database, pool => sqlx::query_as(sql)
        .bind(now.timestamp_millis())
        .fetch_all(pool)
        .await)?;
    rows.into_iter()
        .map(|row| {
            Ok(LeaseHolder {
                owner: row.lease_owner.unwrap_or_default(),
                held: row.held,
                until: millis("lease_until_ms", row.until_ms.unwrap_or(0))?,
            })
        })
        .collect()
}

/// The earliest moment a row of `kinds` can be claimed (due, and its lease free), if there is any.
pub async fn next_due(database: &Database, kinds: &[WorkKind]) -> Result<Option<DateTime<Utc>>, QueryError> {
    let sql = NEXT_DUE.sql(database.backend());
    let kinds = kinds_json(kinds);
    let next: Option<i64> = on_pool!(database, pool => sqlx::query_scalar(sql)
        .bind(&kinds)
        .fetch_one(pool)
        .await)?;
    next.map(|ms| millis("due_ms", ms)).transpose()
}

/// When `kind` of work on the aggregate `id` is due, if it is scheduled.
pub async fn due_of(database: &Database, kind: WorkKind, id: &str) -> Result<Option<DateTime<Utc>>, QueryError> {
    let sql = DUE_OF.sql(database.backend());
    let due: Option<i64> = on_pool!(database, pool => sqlx::query_scalar(sql)
        .bind(kind.as_str())
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    due.map(|ms| millis("due_ms", ms)).transpose()
}
