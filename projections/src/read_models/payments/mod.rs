//! Read models `payments` (one row per payment order: phase, ISO 20022 status, attempts, links and times) and
//! `payment_status_changes` (every status a payment reached, with when).
//!
//! `project` folds Payment events into rows; `query` reads a user's payment orders back with their history.

mod project;
mod query;

pub(crate) use project::Payments;
pub use query::{of_user, poll_targets, PaymentView, PollTarget, StatusChange};
