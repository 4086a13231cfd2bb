//! The read models: SQL tables the host queries, each kept by one projection. A read model is one folder: its
//! projection (events → rows, behind the [`ReadModel`] trait), its queries (rows → views) and its statements
//! (`sql/`). [`Projection::ALL`] is the registry: a new read model is one new folder and one line there.
//!
//! A projection folds a batch of feed events in memory per aggregate and returns the rows to write; the runner
//! writes them, one multi-row statement per table, in the transaction that also moves the projection's
//! checkpoint. Rows an event of the batch created are inserted, the others upserted (a column the batch did
//! not touch keeps its value). On PostgreSQL wide rows travel as one typed array per column (`UNNEST`), narrow
//! ones as a JSON array (`json_to_recordset`); on SQLite as a JSON array (`json_each`). See
//! `docs/read-models.md` for the tables.

mod account_information;
mod accounts;
mod consents;
mod payments;
mod spending;
mod transactions;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use consentry_store::{Backend, Statement};
use sqlx::postgres::PgArguments;

use crate::feed::Interest;
use crate::{FeedEvent, ProjectionError};

pub(crate) use account_information::{prepare, PlanContext};
pub use spending::MICROS;

/// One concern of the read side: the tables it owns and how a batch of events changes them.
pub(crate) trait ReadModel: Sync {
    /// The projection's name: its checkpoint's key and what `consentry replay --projection` takes.
    fn name(&self) -> &'static str;

    /// The tables this projection owns.
    fn tables(&self) -> &'static [&'static str];

    /// The statements that empty its tables, children first. A rebuild runs them in the transaction that
    /// commits the rebuilt rows (on SQLite they name `main`, past the rebuild's shadow tables).
    fn clear(&self) -> &'static [Statement];

    /// Its tables as SQLite's rebuild shadows them (see [`Shadow`]).
    fn shadows(&self) -> &'static [Shadow];

    /// The events it reads: the live runner fetches only their payloads.
    fn interest(&self) -> Interest;

    /// What planning needs loaded besides the events.
    fn needs(&self) -> Needs;

    /// The rows a batch of events changes. A batch holds many events of one aggregate; they are folded into
    /// one row each, so a table takes one upsert per batch. `context` has been prepared for `events` as
    /// [`ReadModel::needs`] asks.
    fn plan(
        &self,
        events: &[FeedEvent],
        backend: Backend,
        context: &PlanContext,
    ) -> Result<Vec<Write>, ProjectionError>;
}

/// One table of a read model as a rebuild on SQLite builds it: into a TEMP table of the same name on the
/// rebuild's own connection, which SQLite resolves before `main` for unqualified names, so the projection's
/// statements write to it unchanged while every other connection reads (and live runners write) the real
/// table. The shadow has the real table's columns and only the key its upserts' `ON CONFLICT` clauses name,
/// no other index; it is copied into the emptied real table in the rebuild's last, short transaction.
pub(crate) struct Shadow {
    /// Creates the shadow, empty, with the real table's columns.
    pub(crate) create: &'static str,
    /// The shadow's unique key.
    pub(crate) key: &'static str,
    /// Copies the shadow into the real table.
    pub(crate) copy: &'static str,
}

/// What a projection's planning needs loaded into its [`PlanContext`] first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// The events alone.
    Events,
    /// The owners (tenant, user, bank) of the consents whose account data the events carry.
    Owners,
    /// The owners, and their tenants' categorisation rules.
    OwnersAndRules,
}

/// A projection: a registered read model, with its own checkpoint.
#[derive(Clone, Copy)]
pub struct Projection(&'static dyn ReadModel);

impl Projection {
    /// `consents` (and the `consent_overview` view).
    pub const CONSENTS: Projection = Projection(&consents::Consents);
    /// `payments` and `payment_status_changes`.
    pub const PAYMENTS: Projection = Projection(&payments::Payments);
    /// `accounts` and `balances`.
    pub const ACCOUNTS: Projection = Projection(&accounts::Accounts);
    /// `transactions`, merged chronologically across banks.
    pub const TRANSACTIONS: Projection = Projection(&transactions::Transactions);
    /// `spending` per user, month, category and currency.
    pub const SPENDING: Projection = Projection(&spending::Spending);

    /// The registry: every read model, in the order the runner starts them.
    pub const ALL: [Projection; 5] = [
        Projection::CONSENTS,
        Projection::PAYMENTS,
        Projection::ACCOUNTS,
        Projection::TRANSACTIONS,
        Projection::SPENDING,
    ];

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tables(&self) -> &'static [&'static str] {
        self.0.tables()
    }

    pub(crate) fn read_model(&self) -> &'static dyn ReadModel {
        self.0
    }
}

impl PartialEq for Projection {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Projection {}

impl Hash for Projection {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Debug for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Projection({})", self.name())
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
    fn json<T: serde::Serialize>(statement: Statement, rows: &[T]) -> Result<Option<Self>, ProjectionError> {
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
fn aggregate_uuid(aggregate_type: &str, id: &str) -> Result<uuid::Uuid, ProjectionError> {
    uuid::Uuid::parse_str(id).map_err(|e| ProjectionError::Undecodable {
        event: format!("{aggregate_type} {id}"),
        reason: format!("the aggregate id is not a UUID: {e}"),
    })
}

/// Collects column arrays into the arguments of an `UNNEST` statement, in the order of its placeholders.
#[derive(Default)]
struct Columns(PgArguments);

impl Columns {
    fn add<'q, T>(&mut self, column: T) -> Result<&mut Self, ProjectionError>
    where
        T: sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + 'q,
    {
        sqlx::Arguments::<'q>::add(&mut self.0, column).map_err(|e| ProjectionError::Arguments(e.to_string()))?;
        Ok(self)
    }

    fn into_write(self, statement: Statement) -> Write {
        Write::Columns {
            sql: statement.sql(Backend::Postgres),
            args: self.0,
        }
    }
}
