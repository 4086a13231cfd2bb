//! Tenants and their API keys. A key is 256 random bits shown once when the tenant is created or its key is
//! rotated; only its SHA-256 is stored, so the table cannot be used to call the API. Rotating replaces the stored
//! digest, so the old key stops working with that one statement. Every HTTP request but the SCA callback names
//! its tenant by its key, and every query is scoped to that tenant.

use chrono::{DateTime, Utc};
use consentry_domain::{FieldError, TenantId};
use consentry_store::{on_pool, Statement};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Engine, EngineError};

const INSERT: Statement = Statement::each(
    include_str!("sql/insert.postgres.sql"),
    include_str!("sql/insert.sqlite.sql"),
);
const BY_KEY: Statement = Statement::each(
    include_str!("sql/by_key.postgres.sql"),
    include_str!("sql/by_key.sqlite.sql"),
);

const LIST: Statement = Statement::both(include_str!("sql/list.sql"));
const ROTATE_KEY: Statement = Statement::each(
    include_str!("sql/rotate_key.postgres.sql"),
    include_str!("sql/rotate_key.sqlite.sql"),
);

/// A tenant as an operator lists it: never its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantView {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    tenant_id: String,
    name: String,
    created_at_ms: i64,
}

impl TryFrom<TenantRow> for TenantView {
    type Error = EngineError;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        let created_at = DateTime::from_timestamp_millis(row.created_at_ms).ok_or_else(|| {
            EngineError::Store(format!(
                "tenant {} has an impossible creation time {}",
                row.tenant_id, row.created_at_ms
            ))
        })?;
        Ok(Self {
            id: TenantId::parse(&row.tenant_id)?,
            name: row.name,
            created_at,
        })
    }
}

/// A fresh API key: `cs_` and two v4 UUIDs (244 random bits).
fn new_api_key() -> String {
    format!("cs_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

fn digest(api_key: &str) -> String {
    Sha256::digest(api_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Engine {
    /// Creates a tenant and returns its id and API key (the only time the key is seen).
    pub async fn create_tenant(&self, name: &str) -> Result<(TenantId, String), EngineError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "is empty").into());
        }
        let tenant = TenantId::new();
        let api_key = new_api_key();
        let (id, hash, now) = (tenant.to_string(), digest(&api_key), self.now().timestamp_millis());
        let sql = INSERT.sql(self.database().backend());
        let stored = on_pool!(self.database(), pool => sqlx::query(sql)
            .bind(id)
            .bind(name)
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()));
        stored.map_err(|e| EngineError::Store(e.to_string()))?;
        Ok((tenant, api_key))
    }

    /// The tenant an API key belongs to; `None` for a key this engine never issued.
    pub async fn tenant_for_key(&self, api_key: &str) -> Result<Option<TenantId>, EngineError> {
        let hash = digest(api_key);
        let sql = BY_KEY.sql(self.database().backend());
        let row: Option<(String,)> =
            on_pool!(self.database(), pool => sqlx::query_as(sql).bind(hash).fetch_optional(pool).await)
                .map_err(|e| EngineError::Store(e.to_string()))?;
        row.map(|(id,)| TenantId::parse(&id).map_err(EngineError::from))
            .transpose()
    }

    /// Every tenant, oldest first.
    pub async fn list_tenants(&self) -> Result<Vec<TenantView>, EngineError> {
        let sql = LIST.sql(self.database().backend());
        let rows: Vec<TenantRow> = on_pool!(self.database(), pool => sqlx::query_as(sql).fetch_all(pool).await)
            .map_err(|e| EngineError::Store(e.to_string()))?;
        rows.into_iter().map(TenantView::try_from).collect()
    }

    /// Gives `tenant` a new API key and returns it (the only time it is seen); the old key is refused from the
    /// moment this returns.
    pub async fn rotate_api_key(&self, tenant: TenantId) -> Result<String, EngineError> {
        let api_key = new_api_key();
        let (hash, id) = (digest(&api_key), tenant.to_string());
        let sql = ROTATE_KEY.sql(self.database().backend());
        let updated = on_pool!(self.database(), pool => sqlx::query(sql)
            .bind(hash)
            .bind(id.clone())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()));
        match updated.map_err(|e| EngineError::Store(e.to_string()))? {
            0 => Err(EngineError::NotFound {
                aggregate: "tenant",
                id,
            }),
            _ => Ok(api_key),
        }
    }
}
