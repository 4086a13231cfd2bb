//! Storage of SCA redirect `state` tokens: issued with a consent's or a payment's redirect link, consumed once by
//! the callback. Consuming is one conditional UPDATE, so two callbacks racing with the same state cannot both
//! win.

use chrono::{DateTime, Duration, Utc};
use consentry_store::{on_pool, Database, StoreError};

const ISSUE: &str = include_str!("../sql/sca_states/issue.sql");
const CONSUME: &str = include_str!("../sql/sca_states/consume.sql");

/// What a redirect `state` is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Consent,
    Payment,
}

impl Subject {
    fn as_str(&self) -> &'static str {
        match self {
            Subject::Consent => "consent",
            Subject::Payment => "payment",
        }
    }
}

/// A consumed state: the tenant, what it was bound to, and that one's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub tenant_id: String,
    pub subject: Subject,
    pub id: String,
}

/// Records `state` as bound to the consent or payment `id` of `tenant_id`.
pub async fn issue(
    database: &Database,
    state: &str,
    tenant_id: &str,
    subject: Subject,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let issued = now.timestamp_millis();
    on_pool!(database, pool => sqlx::query(ISSUE)
        .bind(state)
        .bind(tenant_id)
        .bind(id)
        .bind(subject.as_str())
        .bind(issued)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Marks `state` used and returns what it was bound to, if it was issued less than `max_age` ago and never used;
/// `None` otherwise.
pub async fn consume(
    database: &Database,
    state: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Option<Bound>, StoreError> {
    let (now_ms, oldest_ms) = (now.timestamp_millis(), (now - max_age).timestamp_millis());
    let row: Option<(String, String, String)> = on_pool!(database, pool => sqlx::query_as(CONSUME)
        .bind(state)
        .bind(now_ms)
        .bind(oldest_ms)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(|(tenant_id, id, subject)| Bound {
        tenant_id,
        subject: if subject == "payment" {
            Subject::Payment
        } else {
            Subject::Consent
        },
        id,
    }))
}
