//! Idempotency keys: a request sent with an `Idempotency-Key` is answered once; the same key with the same
//! request gets the first answer again, with another request it is refused. The key is claimed by an INSERT
//! that conflicts on (tenant, key) before the request runs, so of two concurrent requests with one key exactly
//! one runs; the other sees the claim and waits for its answer. A claim whose request never finished (the
//! process stopped) is taken over after [`ABANDONED_AFTER`]. Keys are kept [`RETENTION`] per tenant, measured
//! by the engine's `Clock`.

use chrono::Duration;
use consentry_domain::TenantId;
use consentry_store::{on_pool, Migration, Statement};

use crate::{Engine, EngineError};

/// How long a key and its answer are kept.
pub const RETENTION: Duration = Duration::hours(24);
/// A claim older than this without an answer belongs to a request that will not finish.
pub const ABANDONED_AFTER: Duration = Duration::minutes(5);

/// The app's own tables, run after the event log's and the read models' by the one migration runner.
pub const MIGRATIONS: &[Migration] = &[Migration::both(
    "app_0001_idempotency_keys.sql",
    include_str!("../../migrations/0001_idempotency_keys.sql"),
)];

const CLAIM: Statement = Statement::each(
    include_str!("sql/claim.postgres.sql"),
    include_str!("sql/claim.sqlite.sql"),
);
const FIND: Statement = Statement::each(
    include_str!("sql/find.postgres.sql"),
    include_str!("sql/find.sqlite.sql"),
);
const COMPLETE: Statement = Statement::each(
    include_str!("sql/complete.postgres.sql"),
    include_str!("sql/complete.sqlite.sql"),
);
const RELEASE: Statement = Statement::each(
    include_str!("sql/release.postgres.sql"),
    include_str!("sql/release.sqlite.sql"),
);
const TAKE_OVER: Statement = Statement::each(
    include_str!("sql/take_over.postgres.sql"),
    include_str!("sql/take_over.sqlite.sql"),
);
const PURGE: Statement = Statement::each(
    include_str!("sql/purge.postgres.sql"),
    include_str!("sql/purge.sqlite.sql"),
);

/// A claimed key: the request runs, then completes or releases it. `claimed_at_ms` fences a claim that was
/// taken over meanwhile.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    pub tenant: TenantId,
    pub key: String,
    claimed_at_ms: i64,
}

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone)]
pub enum Claim {
    /// The key is this request's: run it.
    Claimed(IdempotencyClaim),
    /// The same request was answered before.
    Answered(StoredAnswer),
    /// The same request is running now.
    InProgress,
    /// The key was used for another request.
    Reused,
}

fn store(error: sqlx::Error) -> EngineError {
    EngineError::Store(error.to_string())
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_sha256: String,
    claimed_at_ms: i64,
    status: Option<i32>,
    content_type: Option<String>,
    response_body: Option<String>,
}

impl Engine {
    /// Claims `key` of `tenant` for a request whose fingerprint is `request_sha256`, or says what holds it.
    pub async fn claim_idempotency_key(
        &self,
        tenant: TenantId,
        key: &str,
        request_sha256: &str,
    ) -> Result<Claim, EngineError> {
        let (db, backend) = (self.database(), self.database().backend());
        let (tenant_id, now) = (tenant.to_string(), self.now());
        let now_ms = now.timestamp_millis();
        let expired_ms = (now - RETENTION).timestamp_millis();
        on_pool!(db, pool => sqlx::query(PURGE.sql(backend)).bind(&tenant_id).bind(expired_ms).execute(pool).await.map(|_| ())).map_err(store)?;
        let inserted = on_pool!(db, pool => sqlx::query(CLAIM.sql(backend))
            .bind(&tenant_id).bind(key).bind(request_sha256).bind(now_ms)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(store)?;
        let claimed = |claimed_at_ms| {
            Claim::Claimed(IdempotencyClaim {
                tenant,
                key: key.to_owned(),
                claimed_at_ms,
            })
        };
        if inserted == 1 {
            return Ok(claimed(now_ms));
        }
        let row: Option<KeyRow> = on_pool!(db, pool => sqlx::query_as(FIND.sql(backend))
            .bind(&tenant_id).bind(key).fetch_optional(pool).await)
        .map_err(store)?;
        let Some(row) = row else {
            // Released between the INSERT and the SELECT: the caller tries again.
            return Ok(Claim::InProgress);
        };
        let abandoned = row.status.is_none() && row.claimed_at_ms < (now - ABANDONED_AFTER).timestamp_millis();
        if abandoned {
            let taken = on_pool!(db, pool => sqlx::query(TAKE_OVER.sql(backend))
                .bind(&tenant_id).bind(key).bind(request_sha256).bind(now_ms).bind(row.claimed_at_ms)
                .execute(pool).await.map(|r| r.rows_affected()))
            .map_err(store)?;
            return Ok(if taken == 1 { claimed(now_ms) } else { Claim::InProgress });
        }
        if row.request_sha256 != request_sha256 {
            return Ok(Claim::Reused);
        }
        Ok(match (row.status, row.response_body) {
            (Some(status), Some(body)) => Claim::Answered(StoredAnswer {
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.content_type,
                body,
            }),
            _ => Claim::InProgress,
        })
    }

    /// Stores the answer of a claimed key's request.
    pub async fn complete_idempotency_key(
        &self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> Result<(), EngineError> {
        let (db, backend) = (self.database(), self.database().backend());
        on_pool!(db, pool => sqlx::query(COMPLETE.sql(backend))
            .bind(claim.tenant.to_string()).bind(&claim.key)
            .bind(i32::from(answer.status)).bind(&answer.content_type).bind(&answer.body)
            .bind(claim.claimed_at_ms)
            .execute(pool).await.map(|_| ()))
        .map_err(store)?;
        Ok(())
    }

    /// Gives a claimed key up without an answer, so the request can be sent again with it.
    pub async fn release_idempotency_key(&self, claim: &IdempotencyClaim) -> Result<(), EngineError> {
        let (db, backend) = (self.database(), self.database().backend());
        on_pool!(db, pool => sqlx::query(RELEASE.sql(backend))
            .bind(claim.tenant.to_string()).bind(&claim.key).bind(claim.claimed_at_ms)
            .execute(pool).await.map(|_| ()))
        .map_err(store)?;
        Ok(())
    }
}
