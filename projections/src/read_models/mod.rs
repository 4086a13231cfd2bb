//! The read models: SQL tables the host queries, each kept by one projection. A projection folds a batch of
//! feed events in memory per aggregate and returns the rows to upsert; the runner writes them, one multi-row
//! statement per table, in the transaction that also moves the projection's checkpoint. The rows travel as one
//! JSON array (`json_to_recordset` on PostgreSQL, `json_each` on SQLite), so both stores take a batch in a
//! single statement. See `docs/read-models.md` for the tables.

mod banking;
mod consents;
mod payments;

use std::fmt;
use std::str::FromStr;

use crate::{FeedEvent, ProjectionError};

pub use banking::MICROS;
pub(crate) use banking::{prepare_postgres, prepare_sqlite, PlanContext};

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

/// One multi-row write: the statement for each store and the rows as a JSON array.
#[derive(Debug)]
pub(crate) struct Write {
    pub postgres: &'static str,
    pub sqlite: &'static str,
    pub rows: String,
}

impl Write {
    fn rows<T: serde::Serialize>(
        postgres: &'static str,
        sqlite: &'static str,
        rows: &[T],
    ) -> Result<Option<Self>, ProjectionError> {
        if rows.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            postgres,
            sqlite,
            rows: serde_json::to_string(rows)?,
        }))
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
    pub(crate) fn plan(&self, events: &[FeedEvent], context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        match self {
            Projection::Consents => consents::plan(events),
            Projection::Payments => payments::plan(events),
            Projection::Accounts => banking::plan_accounts(events, context),
            Projection::Transactions => banking::plan_transactions(events, context),
            Projection::Spending => banking::plan_spending(events, context),
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
