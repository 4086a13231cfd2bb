//! Consentry's read side. The event log is the system of record; this crate turns it into tables a host can
//! query. It holds the globally ordered event feed over both stores (`feed`), the read models with their SQL
//! migrations (`read_models`, `migrations/`), the checkpointed projection runner that keeps them up to date
//! and rebuilds them (`runner`), and the transaction categoriser the spending read model uses (`categorise`).
//! cqrs-es queries are not used for this: they run at most once, in no global order, and their replay is
//! neither fast nor atomic.
//!
//! The crate knows the domain events and SQL, nothing else: the application hands it a `Database` of the storage
//! seam (the same database the event store writes to) and runs its [`MIGRATIONS`] before starting a runner.

pub mod categorise;
mod error;
pub mod feed;
mod migrations;
pub mod read_models;
pub mod runner;

pub use error::ProjectionError;
pub use feed::{Feed, FeedEvent, FeedPosition};
pub use migrations::MIGRATIONS;
pub use read_models::Projection;
pub use runner::{ProjectionRunner, ProjectionStatus, RebuildProgress, RunnerHandle};
