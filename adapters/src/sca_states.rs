//! Storage of SCA redirect `state` tokens: issued with a consent's redirect link, consumed once by the
//! callback. Consuming is one conditional UPDATE, so two callbacks racing with the same state cannot both win.

use chrono::{DateTime, Duration, Utc};

use crate::{Database, StoreError};

const ISSUE_POSTGRES: &str =
    "INSERT INTO sca_states (state, tenant_id, consent_id, issued_at_ms) VALUES ($1, $2, $3, $4)";
const ISSUE_SQLITE: &str = "INSERT INTO sca_states (state, tenant_id, consent_id, issued_at_ms) VALUES (?, ?, ?, ?)";
const CONSUME_POSTGRES: &str = "UPDATE sca_states SET consumed_at_ms = $2
  WHERE state = $1 AND consumed_at_ms IS NULL AND issued_at_ms >= $3
  RETURNING tenant_id, consent_id";
const CONSUME_SQLITE: &str = "UPDATE sca_states SET consumed_at_ms = ?2
  WHERE state = ?1 AND consumed_at_ms IS NULL AND issued_at_ms >= ?3
  RETURNING tenant_id, consent_id";

/// Records `state` as bound to `consent_id` of `tenant_id`.
pub async fn issue(
    database: &Database,
    state: &str,
    tenant_id: &str,
    consent_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let issued = now.timestamp_millis();
    match database {
        Database::Postgres(pool) => {
            sqlx::query(ISSUE_POSTGRES)
                .bind(state)
                .bind(tenant_id)
                .bind(consent_id)
                .bind(issued)
                .execute(pool)
                .await?;
        }
        Database::Sqlite(pool) => {
            sqlx::query(ISSUE_SQLITE)
                .bind(state)
                .bind(tenant_id)
                .bind(consent_id)
                .bind(issued)
                .execute(pool)
                .await?;
        }
    }
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
    let row = match database {
        Database::Postgres(pool) => {
            sqlx::query_as(CONSUME_POSTGRES)
                .bind(state)
                .bind(now_ms)
                .bind(oldest_ms)
                .fetch_optional(pool)
                .await?
        }
        Database::Sqlite(pool) => {
            sqlx::query_as(CONSUME_SQLITE)
                .bind(state)
                .bind(now_ms)
                .bind(oldest_ms)
                .fetch_optional(pool)
                .await?
        }
    };
    Ok(row)
}
