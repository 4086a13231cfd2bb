//! Read model `consents`: one row per consent with its status, bank, validUntil, links (SCA redirect, the
//! consent it renews and the one renewing it) and the times of its lifecycle. Days left are computed when read,
//! by the caller's clock (or by the `consent_overview` view, by the database's).
//!
//! `project` folds Consent events into rows; `query` reads them back as views, for the user, the aggregation
//! (the valid consents).

mod project;
mod query;

pub(crate) use project::Consents;
pub use query::{of_user, valid_of_user, AccessKind, ConsentView, ValidConsent};
