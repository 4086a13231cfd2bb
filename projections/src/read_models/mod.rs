//! The read models: SQL tables the host queries, each kept by one projection. A projection folds a batch of
//! feed events in memory per aggregate and returns the rows to write; the runner writes them, one multi-row
//! statement per table, in the transaction that also moves the projection's checkpoint. Rows an event of the
//! batch created are inserted, the others upserted (a column the batch did not touch keeps its value). On
//! PostgreSQL wide rows travel as one typed array per column (`UNNEST`), narrow ones as a JSON array
//! (`json_to_recordset`); on SQLite as a JSON array (`json_each`). See `docs/read-models.md` for the tables.

mod banking;
mod consents;
mod payments;

use std::fmt;
use std::str::FromStr;

use sqlx::postgres::PgArguments;
use sqlx::Arguments as _;

use crate::feed::{self, Interest};
use crate::{FeedEvent, ProjectionError};

pub use banking::MICROS;
pub(crate) use banking::{prepare, PlanContext};

/// A projection: one concern of the read side, with its own checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// `consents` (and the `consent_overview` view).
    Consents,
    /// `payments` and `payment_status_changes`.
    Payments,
    /// `accounts` and `balances`.
    Accounts,
    /// `transactions`, merged chronologically across banks.
    Transactions,
    /// `spending` per user, month, category and currency.
    Spending,
}

/// The store a batch is planned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// The one of a statement's two spellings this store speaks.
    pub(crate) fn pick(self, postgres: &'static str, sqlite: &'static str) -> &'static str {
        match self {
            Dialect::Postgres => postgres,
            Dialect::Sqlite => sqlite,
        }
    }
}

/// One multi-row write.
pub(crate) enum Write {
    /// The rows as one JSON array (`json_to_recordset` on PostgreSQL, `json_each` on SQLite).
    Json { sql: &'static str, rows: String },
    /// PostgreSQL only: one typed array per column (`UNNEST`). For wide rows this is cheaper than JSON, whose
    /// text the server must parse and convert column by column.
    Columns { sql: &'static str, args: PgArguments },
}

impl Write {
    /// The statement of `dialect` over `rows` as one JSON array; `None` when there are no rows.
    fn rows<T: serde::Serialize>(
        dialect: Dialect,
        postgres: &'static str,
        sqlite: &'static str,
        rows: &[T],
    ) -> Result<Option<Self>, ProjectionError> {
        Self::json(dialect.pick(postgres, sqlite), rows)
    }

    fn json<T: serde::Serialize>(sql: &'static str, rows: &[T]) -> Result<Option<Self>, ProjectionError> {
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Write::Json {
            sql,
            rows: serde_json::to_string(rows)?,
        }))
    }
}

/// An aggregate id as the UUID the read models key on; anything else is an event the read models cannot take.
fn aggregate_uuid(aggregate_type: &str, id: &str) -> Result<uuid::Uuid, ProjectionError> {
    uuid::Uuid::parse_str(id).map_err(|e| ProjectionError::Undecodable {
        event: format!("{aggregate_type} {id}"),
        reason: format!("the aggregate id is not a UUID: {e}"),
    })
}

/// Declares a statement's PostgreSQL and SQLite spellings from the text they share: a head and a tail around the
/// part that reads the rows, which differs (`json_to_recordset` against `json_each`, after which SQLite needs a
/// `WHERE` before `ON CONFLICT`).
macro_rules! both_dialects {
    (
        $(#[$doc:meta])*
        $postgres:ident, $sqlite:ident = $head:literal + { postgres: $pg:literal, sqlite: $sq:literal } + $tail:literal
    ) => {
        $(#[$doc])*
        const $postgres: &str = concat!($head, $pg, $tail);
        const $sqlite: &str = concat!($head, $sq, $tail);
    };
}
use both_dialects;

/// The `UNNEST` arguments of `rows`: one array per listed column, filled row by row and bound in the listed
/// order, which must be the order of the statement's placeholders.
macro_rules! column_arrays {
    ($rows:expr, $row:ident => { $($column:ident: $value:expr),* $(,)? }) => {{
        let rows = $rows;
        $(let mut $column = Vec::with_capacity(rows.len());)*
        for $row in rows {
            $($column.push($value);)*
        }
        let mut columns = Columns::new();
        $(columns.add($column)?;)*
        columns
    }};
}
use column_arrays;

/// Collects column arrays into the arguments of an `UNNEST` statement.
struct Columns(PgArguments);

impl Columns {
    fn new() -> Self {
        Self(PgArguments::default())
    }

    fn add<T>(&mut self, column: T) -> Result<&mut Self, ProjectionError>
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        self.0
            .add(column)
            .map_err(|e| ProjectionError::Arguments(e.to_string()))?;
        Ok(self)
    }

    fn into_write(self, sql: &'static str) -> Write {
        Write::Columns { sql, args: self.0 }
    }
}

impl Projection {
    pub const ALL: [Projection; 5] = [
        Projection::Consents,
        Projection::Payments,
        Projection::Accounts,
        Projection::Transactions,
        Projection::Spending,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Projection::Consents => "consents",
            Projection::Payments => "payments",
            Projection::Accounts => "accounts",
            Projection::Transactions => "transactions",
            Projection::Spending => "spending",
        }
    }

    /// The tables this projection owns, emptied before a rebuild.
    pub fn tables(&self) -> &'static [&'static str] {
        match self {
            Projection::Consents => &["consents"],
            Projection::Payments => &["payments", "payment_status_changes"],
            Projection::Accounts => &["accounts", "balances"],
            Projection::Transactions => &["transactions"],
            Projection::Spending => &["spending"],
        }
    }

    /// The statements that empty this projection's tables (a rebuild runs them in its transaction).
    pub(crate) fn clear_statements(&self) -> &'static [&'static str] {
        match self {
            Projection::Consents => consents::CLEAR,
            Projection::Payments => payments::CLEAR,
            Projection::Accounts => banking::CLEAR_ACCOUNTS,
            Projection::Transactions => banking::CLEAR_TRANSACTIONS,
            Projection::Spending => banking::CLEAR_SPENDING,
        }
    }

    /// The events this projection reads: the live runner fetches only their payloads.
    pub(crate) fn interest(&self) -> Interest {
        match self {
            Projection::Consents => Interest {
                aggregate_types: &[feed::CONSENT],
                event_types: &[],
            },
            Projection::Payments => Interest {
                aggregate_types: &[feed::PAYMENT],
                event_types: &[],
            },
            // A consent's owner (tenant, user, bank) comes from its request.
            Projection::Accounts | Projection::Transactions | Projection::Spending => Interest {
                aggregate_types: &[feed::ACCOUNT_DATA],
                event_types: &["ConsentRequested"],
            },
        }
    }

    /// Whether planning needs a [`PlanContext`] loaded first (consent owners, categorisation rules).
    pub(crate) fn needs_context(&self) -> bool {
        matches!(
            self,
            Projection::Accounts | Projection::Transactions | Projection::Spending
        )
    }

    /// Whether planning needs the tenants' categorisation rules in its [`PlanContext`].
    pub(crate) fn categorises(&self) -> bool {
        matches!(self, Projection::Transactions | Projection::Spending)
    }

    /// The rows a batch of events changes. A batch holds many events of one aggregate; they are folded into
    /// one row each, so a table takes one upsert per batch. `context` must have been prepared for `events`
    /// when [`Projection::needs_context`].
    pub(crate) fn plan(
        &self,
        events: &[FeedEvent],
        dialect: Dialect,
        context: &PlanContext,
    ) -> Result<Vec<Write>, ProjectionError> {
        match self {
            Projection::Consents => consents::plan(events, dialect),
            Projection::Payments => payments::plan(events, dialect),
            Projection::Accounts => banking::plan_accounts(events, context, dialect),
            Projection::Transactions => banking::plan_transactions(events, context, dialect),
            Projection::Spending => banking::plan_spending(events, context, dialect),
        }
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Projection {
    type Err = ProjectionError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Projection::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ProjectionError::UnknownProjection(name.to_owned()))
    }
}
