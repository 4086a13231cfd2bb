//! The storage seam of Consentry: the one place that says which database this is. A [`Database`] is a pool of
//! either supported store (PostgreSQL, or an SQLite file), its [`Backend`] names the kind, and [`Conn`] is a
//! connection (or open transaction) of either kind borrowed for one step, so code above this crate is written
//! once and runs on both. SQL is never written in Rust strings: each statement is a `.sql` file of the crate
//! that runs it, loaded with `include_str!` into a [`Statement`], one text where both databases accept it and
//! one per database where they differ. [`Migration`]s are `.sql` files too, applied once each by the one
//! migration runner here ([`Database::migrate`]). [`ScratchDatabase`] makes a throw-away database for tests
//! and benchmarks.

mod connection;
mod database;
mod migrations;
mod scratch;
mod statement;

pub use connection::{Conn, DedicatedConnection};
pub use database::{Backend, Database, StoreError, DEFAULT_SQLITE_FILE};
pub use migrations::Migration;
pub use scratch::ScratchDatabase;
pub use statement::Statement;
