//! Everything in Consentry that touches the outside world; the domain crate defines the ports, this crate
//! implements them. `store` and `migrations` are the event stores on the storage seam's `Database`
//! (PostgreSQL through `group_commit`, which keeps postgres-es's table and batches concurrent commands; SQLite
//! through sqlite-es); `berlin_group` is the NextGenPSD2 client that implements the
//! bank port over HTTP; `sandbox` is the sandbox bank, a real HTTP server speaking the same protocol for several
//! banks, used by the demo and the tests; `config` reads `consentry.toml` (the banks and the sandbox's
//! behaviour); `ecb` reads exchange rates; `clock` holds the system and simulated clocks.

pub mod berlin_group;
pub mod clock;
pub mod config;
pub mod ecb;
pub mod group_commit;
pub mod migrations;
pub mod sandbox;
pub mod sca_states;
pub mod store;

#[cfg(test)]
mod conformance;

pub use clock::{SimulatedClock, SystemClock};
pub use migrations::MIGRATIONS;
pub use store::{repository, AggregateRepository};
