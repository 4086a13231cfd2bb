//! The Consentry application library: the `Engine` facade a host embeds and the HTTP API. It wires the domain
//! to the adapters and the projections: `bank_flows` connects banks and sends payments through the bank port,
//! `sync` and `aggregation` bring accounts, balances and transactions in, `read_side` runs the read models'
//! migrations and the projection runner, `queries` reads the read models, `expiry` expires lapsed consents,
//! `audit` reads an aggregate's history as of a time, `tenants` holds API keys, `config` reads `consentry.toml`, and `http` serves the API. The
//! `consentry` binary's commands, its benchmarks and its demo live beside it in `src/cli` and `src/demo`, outside
//! this library.

pub mod aggregation;
pub mod audit;
pub mod bank_flows;
pub mod banks;
pub mod config;
pub mod engine;
pub mod expiry;
pub mod http;
pub mod queries;
pub mod read_side;
pub mod sync;
pub mod tenants;

pub use engine::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};
