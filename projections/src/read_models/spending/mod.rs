//! Read model `spending`: totals per user, month, category, currency and flow (spending or income), in exact
//! integer millionths, from booked transactions categorised by the tenant's rules and the defaults.
//!
//! `project` adds a batch's bookings to the totals; `query` reads a user's month back as money.

mod project;
mod query;

pub(crate) use project::Spending;
pub use project::MICROS;
#[cfg(test)]
pub(super) use project::{plan, to_micros};
pub use query::{of_month, SpendingLine};
