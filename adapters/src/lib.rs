//! Everything in Consentry that touches the outside world; the domain crate defines the ports, this crate
//! implements them. `store` and `migrations` are the event stores on the storage seam's `Database`
//! (PostgreSQL through `group_commit`, which keeps postgres-es's table and batches concurrent commands; SQLite
//! through sqlite-es); `berlin_group` is the NextGenPSD2 client that implements the
//! bank port over HTTP; `config` says how the client reaches each bank (a `[[banks]]` entry of `consentry.toml`);
//! `ecb` reads exchange rates; `clock` holds the system and simulated clocks. The sandbox bank the demo and the
//! tests talk to is not here but in its own crate, `consentry-sandbox` (`adapters/sandbox`).

pub mod berlin_group;
pub mod clock;
pub mod config;
pub mod ecb;
pub mod group_commit;
pub mod migrations;
pub mod sca_states;
pub mod store;

pub use clock::{SimulatedClock, SystemClock};
pub use migrations::MIGRATIONS;
pub use store::{repository, AggregateRepository};
