//! Tenants and their API keys. A key is 256 random bits shown once when the tenant is created; only its SHA-256
//! is stored, so the table cannot be used to call the API. Every HTTP request but the SCA callback names its
//! tenant by its key, and every query is scoped to that tenant.

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
        let api_key = format!("cs_{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
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
}
