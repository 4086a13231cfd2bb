//! Tenants and their API keys. A key is 256 random bits shown once when the tenant is created; only its SHA-256
//! is stored, so the table cannot be used to call the API. Every HTTP request but the SCA callback names its
//! tenant by its key, and every query is scoped to that tenant.

use consentry_adapters::Database;
use consentry_domain::{FieldError, TenantId};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Engine, EngineError};

const INSERT_POSTGRES: &str =
    "INSERT INTO tenants (tenant_id, name, api_key_sha256, created_at_ms) VALUES ($1, $2, $3, $4)";
const INSERT_SQLITE: &str =
    "INSERT INTO tenants (tenant_id, name, api_key_sha256, created_at_ms) VALUES (?1, ?2, ?3, ?4)";
const BY_KEY_POSTGRES: &str = "SELECT tenant_id FROM tenants WHERE api_key_sha256 = $1";
const BY_KEY_SQLITE: &str = "SELECT tenant_id FROM tenants WHERE api_key_sha256 = ?1";

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
        let stored = match self.database() {
            Database::Postgres(pool) => sqlx::query(INSERT_POSTGRES)
                .bind(id)
                .bind(name)
                .bind(hash)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()),
            Database::Sqlite(pool) => sqlx::query(INSERT_SQLITE)
                .bind(id)
                .bind(name)
                .bind(hash)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()),
        };
        stored.map_err(|e| EngineError::Store(e.to_string()))?;
        Ok((tenant, api_key))
    }

    /// The tenant an API key belongs to; `None` for a key this engine never issued.
    pub async fn tenant_for_key(&self, api_key: &str) -> Result<Option<TenantId>, EngineError> {
        let hash = digest(api_key);
        let row: Option<(String,)> = match self.database() {
            Database::Postgres(pool) => sqlx::query_as(BY_KEY_POSTGRES).bind(hash).fetch_optional(pool).await,
            Database::Sqlite(pool) => sqlx::query_as(BY_KEY_SQLITE).bind(hash).fetch_optional(pool).await,
        }
        .map_err(|e| EngineError::Store(e.to_string()))?;
        row.map(|(id,)| TenantId::parse(&id).map_err(EngineError::from))
            .transpose()
    }
}
