//! The read models: SQL tables the host queries, each kept by one projection. A read model is one folder: its
//! projection (`project.rs`: events → rows, behind the [`ReadModel`] trait), its queries (`query.rs`: rows →
//! views, every one scoped to a tenant, and to a user where the rows are a user's) and its statements
//! (`sql/`). [`Projection::ALL`] is the registry: a new read model is one new folder and one line there. The
//! application, its jobs and the aggregation read the tables only through these queries; `rules` holds the
//! tenants' categorisation rules the account-information projections categorise with.
//!
//! A projection folds a batch of feed events in memory per aggregate and returns the rows to write; the runner
//! writes them, one multi-row statement per table, in the transaction that also moves the projection's
//! checkpoint. Rows an event of the batch created are inserted, the others upserted (a column the batch did
//! not touch keeps its value). On PostgreSQL wide rows travel as one typed array per column (`UNNEST`), narrow
//! ones as a JSON array (`json_to_recordset`); on SQLite as a JSON array (`json_each`). See
//! `docs/read-models.md` for the tables.

mod account_information;
pub mod accounts;
pub mod consents;
pub mod due_work;
pub mod payments;
mod queries;
mod read_model;
pub mod rules;
pub mod spending;
pub mod transactions;
mod write;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::ProjectionError;

pub(crate) use account_information::{prepare, PlanContext};
pub use queries::QueryError;
pub(crate) use read_model::{Needs, ReadModel};
pub use spending::MICROS;
pub(crate) use write::Write;

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
    /// `due_work`: what the scheduler runs, and when.
    pub const DUE_WORK: Projection = Projection(&due_work::DueWork);

    /// The registry: every read model, in the order the runner starts them.
    pub const ALL: [Projection; 6] = [
        Projection::CONSENTS,
        Projection::PAYMENTS,
        Projection::ACCOUNTS,
        Projection::TRANSACTIONS,
        Projection::SPENDING,
        Projection::DUE_WORK,
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
