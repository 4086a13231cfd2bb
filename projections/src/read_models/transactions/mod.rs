//! Read model `transactions`: one row per bank transaction, merged chronologically across banks and
//! categorised; a pending row is replaced by its booking (under another id), and a pending one that vanished
//! from the bank's reports is kept and marked.
//!
//! `project` folds AccountData events into rows; `query` pages through a user's transactions newest first.

mod project;
mod query;

#[cfg(test)]
pub(super) use project::plan;
pub(crate) use project::Transactions;
pub use query::{page, BookingState, TransactionCursor, TransactionPage, TransactionView};
