//! Consentry's read side. The event log is the system of record; this crate turns it into tables a host can
//! query. It holds the globally ordered event feed over both stores (`feed`), the read models with their SQL
//! migrations (`read_models`, `migrations/`), the checkpointed projection runner that keeps them up to date
//! and rebuilds them (`runner`), and the transaction categoriser the spending read model uses (`categorise`).
//! cqrs-es queries are not used for this: they run at most once, in no global order, and their replay is
//! neither fast nor atomic.
//!
//! The crate knows the domain events and SQL, nothing else: the application hands it a [`Store`] (a pool of the
//! same database the event store writes to) and runs its [`migrations`] before starting a runner.

pub mod categorise;
mod connection;
pub mod feed;
pub mod migrations;
pub mod read_models;
pub mod runner;
pub mod store;

pub use feed::{Feed, FeedEvent, FeedPosition};
pub use read_models::Projection;
pub use runner::{ProjectionRunner, ProjectionStatus, RebuildProgress, RunnerHandle};
pub use store::{ProjectionError, Store};
