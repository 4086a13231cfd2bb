//! Payments: recording the intent to pay, sending it through the bank so that it can never be sent twice, and
//! following its status; with their routes.

mod commands;
mod initiate;
mod polling;
pub(crate) mod routes;
mod send;

pub use commands::PaymentInput;
pub use consentry_projections::read_models::payments::{PaymentView, StatusChange};
pub use initiate::{Cancellation, PaymentStart, PaymentStarted};
pub use send::{Reconciliation, Resolution};
