//! What the read models' queries share: their error, and reading a stored column back into its domain type.
//! A row that does not read back is a fault of the store (or of a projection that wrote it), never of the
//! caller, so the error names the table and column rather than an input field.

use consentry_domain::{ConsentId, Currency, FieldError, Money, TenantId, UserId};
use consentry_store::{on_pool, Database, Statement};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// Why a query on a read model failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value that is not what the projection writes there.
    #[error("read model {table}, column {column}: {problem}")]
    Corrupt {
        table: &'static str,
        column: &'static str,
        problem: String,
    },
    /// The caller's input, with the field at fault.
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("cannot encode {what}: {source}")]
    Encoding {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// The rows `statement` returns for one user of one tenant (`$1`, `$2`), on either store.
pub(crate) async fn rows_of_user<R>(
    database: &Database,
    statement: &Statement,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<R>, QueryError>
where
    R: for<'r> sqlx::FromRow<'r, PgRow> + for<'r> sqlx::FromRow<'r, SqliteRow> + Send + Unpin,
{
    let sql = statement.sql(database.backend());
    let (tenant, user) = (tenant.to_string(), user.to_string());
    Ok(on_pool!(database, pool => sqlx::query_as(sql).bind(&tenant).bind(&user).fetch_all(pool).await)?)
}

/// Reads the columns of one table back into domain types, naming the column of a bad value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    table: &'static str,
}

impl Table {
    pub(crate) const fn of(table: &'static str) -> Self {
        Self { table }
    }

    pub(crate) fn corrupt(&self, column: &'static str, problem: impl std::fmt::Display) -> QueryError {
        QueryError::Corrupt {
            table: self.table,
            column,
            problem: problem.to_string(),
        }
    }

    pub(crate) fn consent(&self, column: &'static str, text: &str) -> Result<ConsentId, QueryError> {
        ConsentId::parse(text).map_err(|e| self.corrupt(column, e))
    }

    pub(crate) fn optional_consent(
        &self,
        column: &'static str,
        text: Option<&str>,
    ) -> Result<Option<ConsentId>, QueryError> {
        text.map(|text| self.consent(column, text)).transpose()
    }

    pub(crate) fn currency(&self, column: &'static str, text: &str) -> Result<Currency, QueryError> {
        Currency::parse(text).map_err(|e| self.corrupt(column, e))
    }

    /// An amount stored as decimal text beside its currency code.
    pub(crate) fn money(&self, amount: &str, currency: &str) -> Result<Money, QueryError> {
        let currency = self.currency("currency", currency)?;
        Money::parse("amount", amount, currency.code()).map_err(|e| self.corrupt("amount", e))
    }

    /// A value stored in its serde spelling (the Berlin Group's `valid`, ISO 20022's `ACSC`, `outcomeUnknown`),
    /// as the projection wrote it.
    pub(crate) fn spelled<T: DeserializeOwned>(&self, column: &'static str, text: &str) -> Result<T, QueryError> {
        serde_json::from_value(serde_json::Value::String(text.to_owned()))
            .map_err(|_| self.corrupt(column, format!("{text:?} is not a known value")))
    }

    pub(crate) fn optional_spelled<T: DeserializeOwned>(
        &self,
        column: &'static str,
        text: Option<&str>,
    ) -> Result<Option<T>, QueryError> {
        text.map(|text| self.spelled(column, text)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use consentry_domain::consent::ConsentStatus;
    use consentry_domain::payment::TransactionStatus;

    use super::*;

    #[test]
    fn a_stored_spelling_reads_back_into_its_enum() {
        let columns = Table::of("consents");
        let status: ConsentStatus = columns.spelled("status", "revokedByPsu").expect("status");
        assert_eq!(status, ConsentStatus::RevokedByPsu);
        let code: TransactionStatus = Table::of("payments").spelled("status", "ACSC").expect("status");
        assert_eq!(code, TransactionStatus::Acsc);
    }

    #[test]
    fn a_bad_stored_value_names_its_table_and_column() {
        let error = Table::of("consents")
            .spelled::<ConsentStatus>("status", "sleeping")
            .expect_err("not a status");
        assert_eq!(
            error.to_string(),
            "read model consents, column status: \"sleeping\" is not a known value"
        );
    }
}
