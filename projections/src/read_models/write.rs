//! The rows a batch plans, as multi-row writes: a JSON array of rows for one statement, or on PostgreSQL one
//! typed array per column (`UNNEST`).

use consentry_store::{Backend, Statement};
use sqlx::postgres::PgArguments;

use crate::ProjectionError;

/// One multi-row write.
pub(crate) enum Write {
    /// The rows as one JSON array (`json_to_recordset` on PostgreSQL, `json_each` on SQLite).
    Json { statement: Statement, rows: String },
    /// PostgreSQL only: one typed array per column (`UNNEST`). For wide rows this is cheaper than JSON, whose
    /// text the server must parse and convert column by column.
    Columns { sql: &'static str, args: PgArguments },
}

impl Write {
    /// `statement` over `rows` as one JSON array; `None` when there are no rows.
    pub(crate) fn json<T: serde::Serialize>(statement: Statement, rows: &[T]) -> Result<Option<Self>, ProjectionError> {
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Write::Json {
            statement,
            rows: serde_json::to_string(rows)?,
        }))
    }
}

/// An aggregate id as the UUID the read models key on; anything else is an event the read models cannot take.
pub(crate) fn aggregate_uuid(aggregate_type: &str, id: &str) -> Result<uuid::Uuid, ProjectionError> {
    uuid::Uuid::parse_str(id).map_err(|e| ProjectionError::Undecodable {
        event: format!("{aggregate_type} {id}"),
        reason: format!("the aggregate id is not a UUID: {e}"),
    })
}

/// Collects column arrays into the arguments of an `UNNEST` statement, in the order of its placeholders.
#[derive(Default)]
pub(crate) struct Columns(PgArguments);

impl Columns {
    pub(crate) fn add<'q, T>(&mut self, column: T) -> Result<&mut Self, ProjectionError>
    where
        T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
    {
        sqlx::Arguments::<'q>::add(&mut self.0, column).map_err(|e| ProjectionError::Arguments(e.to_string()))?;
        Ok(self)
    }

    pub(crate) fn into_write(self, statement: Statement) -> Write {
        Write::Columns {
            sql: statement.sql(Backend::Postgres),
            args: self.0,
        }
    }
}
