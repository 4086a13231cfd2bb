//! Storage of SCA redirect `state` tokens: issued with a consent's redirect link, consumed once by the
//! callback. Consuming is one conditional UPDATE, so two callbacks racing with the same state cannot both win.

use chrono::{DateTime, Duration, Utc};
use consentry_store::{on_pool, Database, StoreError};

const ISSUE: &str = include_str!("../sql/sca_states/issue.sql");
const CONSUME: &str = include_str!("../sql/sca_states/consume.sql");

/// Records `state` as bound to `consent_id` of `tenant_id`.
pub async fn issue(
    database: &Database,
    state: &str,
    tenant_id: &str,
    consent_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let issued = now.timestamp_millis();
    on_pool!(database, pool => sqlx::query(ISSUE)
        .bind(state)
        .bind(tenant_id)
        .bind(consent_id)
        .bind(issued)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(())
}

/// Marks `state` used and returns its (tenant, consent), if it was issued less than `max_age` ago and never
/// used; `None` otherwise.
pub async fn consume(
    database: &Database,
    state: &str,
    now: DateTime<Utc>,
    max_age: Duration,
) -> Result<Option<(String, String)>, StoreError> {
    let (now_ms, oldest_ms) = (now.timestamp_millis(), (now - max_age).timestamp_millis());
    let row = on_pool!(database, pool => sqlx::query_as(CONSUME)
        .bind(state)
        .bind(now_ms)
        .bind(oldest_ms)
        .fetch_optional(pool)
        .await)?;
    Ok(row)
}
