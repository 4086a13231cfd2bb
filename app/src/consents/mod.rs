//! Consents: requesting one and executing its commands, connecting a bank (a consent with a verified SCA
//! redirect, or the decoupled approach), the SCA callback, reading a consent's status back from the bank, and
//! expiring lapsed consents; with their routes.

mod commands;
mod connect;
pub mod expiry;
pub(crate) mod routes;

pub use commands::ConsentInput;
pub use connect::{ConnectRequest, ConnectStarted, SCA_STATE_MAX_AGE};
pub use consentry_projections::read_models::consents::{AccessKind, ConsentView};
