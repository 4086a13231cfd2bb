//! The `spending` table read back: a user's spending and income in one month, per category and currency.

use consentry_domain::{Money, TenantId, UserId};
use consentry_store::{on_pool, Database, Statement};
use rust_decimal::Decimal;

use super::MICROS;
use crate::categorise::Flow;
use crate::read_models::queries::{QueryError, Table};

/// A user's totals in one month: spending first, then income; by category and currency.
const OF_MONTH: Statement = Statement::each(
    include_str!("sql/of_month.postgres.sql"),
    include_str!("sql/of_month.sqlite.sql"),
);

const TABLE: Table = Table::of("spending");

/// What a user spent (or received) in one category, currency and month: absolute amounts of booked
/// transactions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendingLine {
    pub category: String,
    pub flow: Flow,
    pub total: Money,
    pub count: i64,
}

#[derive(sqlx::FromRow)]
struct SpendingRow {
    category: String,
    currency: String,
    flow: String,
    total_micros: i64,
    count: i64,
}

impl SpendingRow {
    fn into_line(self) -> Result<SpendingLine, QueryError> {
        let currency = TABLE.currency("currency", &self.currency)?;
        let total = Decimal::new(self.total_micros, MICROS.ilog10()).normalize();
        Ok(SpendingLine {
            category: self.category,
            flow: TABLE.spelled("flow", &self.flow)?,
            total: Money::new(total, currency).map_err(|e| TABLE.corrupt("total_micros", e))?,
            count: self.count,
        })
    }
}

/// The user's spending and income in `month` (`YYYY-MM`) per category and currency.
pub async fn of_month(
    database: &Database,
    tenant: TenantId,
    user: UserId,
    month: &str,
) -> Result<Vec<SpendingLine>, QueryError> {
    let sql = OF_MONTH.sql(database.backend());
    let (tenant, user) = (tenant.to_string(), user.to_string());
    let rows: Vec<SpendingRow> = on_pool!(database, pool => sqlx::query_as(sql)
        .bind(&tenant)
        .bind(&user)
        .bind(month)
        .fetch_all(pool)
        .await)?;
    rows.into_iter().map(SpendingRow::into_line).collect()
}
