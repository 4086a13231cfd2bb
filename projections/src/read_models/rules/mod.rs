//! The tenants' own categorisation rules (table `categorisation_rules`): written and listed here, on the read
//! side, because they are configuration of the transactions and spending projections rather than events. A
//! rule is checked by compiling it with the [`Categoriser`] before it is stored, so the projections never meet
//! a rule that does not compile; they load each tenant's rules with [`of_tenants`] before planning a batch.
//! A changed rule applies to transactions projected from then on; a replay re-categorises history.

use chrono::{DateTime, Utc};
use consentry_domain::{FieldError, TenantId};
use consentry_store::{on_conn, on_pool, Conn, Database, Statement};
use uuid::Uuid;

use crate::categorise::{Categoriser, Rule, RuleError};
use crate::read_models::queries::{QueryError, Table};
use crate::ProjectionError;

const INSERT: Statement = Statement::each(
    include_str!("sql/insert.postgres.sql"),
    include_str!("sql/insert.sqlite.sql"),
);

/// One tenant's rules, highest priority first.
const LIST: Statement = Statement::each(
    include_str!("sql/list.postgres.sql"),
    include_str!("sql/list.sqlite.sql"),
);

const DELETE: Statement = Statement::each(
    include_str!("sql/delete.postgres.sql"),
    include_str!("sql/delete.sqlite.sql"),
);

/// Some tenants' rules (`$1`: a JSON array of tenant ids), in precedence order among equal priorities: the
/// oldest first.
const OF_TENANTS: Statement = Statement::each(
    include_str!("sql/of_tenants.postgres.sql"),
    include_str!("sql/of_tenants.sqlite.sql"),
);

const TABLE: Table = Table::of("categorisation_rules");

/// A tenant's categorisation rule and its id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TenantRule {
    pub id: Uuid,
    pub rule: Rule,
}

/// Stores a rule of `tenant`, added `at`, and returns its id. The rule is compiled together with the tenant's
/// stored rules and the defaults, as the projections will compile them; a rule that does not compile, or that
/// does not compile with the others (too many, too large together), is refused with the field at fault
/// (`rule.keyword`, `rule.pattern`, `rules`, ...).
pub async fn add(database: &Database, tenant: TenantId, rule: &Rule, at: DateTime<Utc>) -> Result<Uuid, QueryError> {
    Categoriser::new(vec![rule.clone()]).map_err(field_error)?;
    let mut rules: Vec<Rule> = list(database, tenant).await?.into_iter().map(|r| r.rule).collect();
    rules.push(rule.clone());
    Categoriser::for_tenant(rules).map_err(|error| {
        let RuleError::Invalid { field, problem, .. } = error;
        let field = if field == "rules" {
            "rules".to_owned()
        } else {
            format!("rule.{field}")
        };
        FieldError::new(field, format!("{problem} (together with the tenant's other rules)"))
    })?;
    let id = Uuid::new_v4();
    let json = serde_json::to_string(rule).map_err(|source| QueryError::Encoding { what: "rule", source })?;
    let sql = INSERT.sql(database.backend());
    let (id_text, tenant) = (id.to_string(), tenant.to_string());
    on_pool!(database, pool => sqlx::query(sql)
        .bind(&id_text)
        .bind(&tenant)
        .bind(rule.priority)
        .bind(&json)
        .bind(at)
        .execute(pool)
        .await
        .map(|_| ()))?;
    Ok(id)
}

fn field_error(error: RuleError) -> FieldError {
    let RuleError::Invalid { field, problem, .. } = error;
    FieldError::new(format!("rule.{field}"), problem)
}

/// Why the tenant's stored rules cannot be used (the projections then categorise its transactions with the
/// default rules alone); `None` when they compile. Rules saved one by one are checked together, but two saved
/// at the same moment are not checked against each other: this tells the tenant.
pub async fn problem(database: &Database, tenant: TenantId) -> Result<Option<String>, QueryError> {
    let rules = list(database, tenant).await?.into_iter().map(|r| r.rule).collect();
    Ok(Categoriser::for_tenant(rules).err().map(|e| e.to_string()))
}

#[derive(sqlx::FromRow)]
struct RuleRow {
    rule_id: String,
    rule: String,
}

/// The tenant's own rules, highest priority first (the default rules are not listed).
pub async fn list(database: &Database, tenant: TenantId) -> Result<Vec<TenantRule>, QueryError> {
    let sql = LIST.sql(database.backend());
    let tenant = tenant.to_string();
    let rows: Vec<RuleRow> = on_pool!(database, pool => sqlx::query_as(sql).bind(&tenant).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|row| {
            Ok(TenantRule {
                id: Uuid::parse_str(&row.rule_id).map_err(|e| TABLE.corrupt("rule_id", e))?,
                rule: serde_json::from_str(&row.rule).map_err(|e| TABLE.corrupt("rule", e))?,
            })
        })
        .collect()
}

/// Deletes one of the tenant's rules; false when the tenant has no rule of that id.
pub async fn delete(database: &Database, tenant: TenantId, id: Uuid) -> Result<bool, QueryError> {
    let sql = DELETE.sql(database.backend());
    let (tenant, id) = (tenant.to_string(), id.to_string());
    let deleted = on_pool!(database, pool => sqlx::query(sql)
        .bind(&tenant)
        .bind(&id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(deleted > 0)
}

/// A stored rule of some tenant, as JSON: the projections compile a tenant's rules together.
#[derive(sqlx::FromRow)]
pub(crate) struct StoredRule {
    pub(crate) tenant_id: String,
    pub(crate) rule: String,
}

/// The rules of `tenants`, read on the projection's open connection or transaction.
pub(crate) async fn of_tenants(conn: &mut Conn<'_>, tenants: &[TenantId]) -> Result<Vec<StoredRule>, ProjectionError> {
    let sql = conn.sql(&OF_TENANTS);
    let list = serde_json::to_string(tenants)?;
    Ok(on_conn!(conn, c => sqlx::query_as(sql).bind(&list).fetch_all(&mut **c).await)?)
}
