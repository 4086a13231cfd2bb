//! Everything in Consentry that touches the outside world: the event stores (PostgreSQL through postgres-es,
//! SQLite through sqlite-es, chosen by `DATABASE_URL`) with their migrations, and the clocks. Later modules
//! here hold the Berlin Group client, the sandbox bank, rates and notifiers. The domain crate defines the ports;
//! this crate implements them.

pub mod clock;
pub mod ecb;
pub mod migrations;
pub mod store;

pub use clock::{SimulatedClock, SystemClock};
pub use store::{AggregateRepository, Database, MigrationSet, StoreError};
