//! Read model `accounts`: the tables `accounts` (every account a consent showed, with when it was first and
//! last seen) and `balances` (each account's latest balance of each type), from AccountData's
//! `AccountsObserved` and `BalancesObserved`.
//!
//! `project` folds the events into rows; `query` reads a user's accounts and one balance per account back.

mod project;
mod query;

pub(crate) use project::Accounts;
pub use query::{balances_of_user, of_user, AccountView, BalanceView, BALANCE_PREFERENCE};
