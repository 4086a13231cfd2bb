//! Consents: requesting one and executing its commands, connecting a bank (a consent with a verified SCA
//! redirect, or the decoupled approach), the SCA callback, reading a consent's status back from the bank,
//! terminating a consent at the bank, and expiring lapsed consents as due work; with their routes.

mod commands;
mod connect;
mod expiry;
pub(crate) mod routes;
mod terminate;

pub use commands::ConsentInput;
pub use connect::{CallbackOutcome, ConnectRequest, ConnectStarted, MAX_VALIDITY_DAYS, SCA_STATE_MAX_AGE};
pub use consentry_projections::read_models::consents::{AccessKind, ConsentView};
