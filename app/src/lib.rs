//! The Consentry application: the `Engine` facade a host embeds, the HTTP API, the demo, and the commands of the
//! `consentry` binary. It wires the domain to the adapters and the projections: `bank_flows` connects banks and
//! sends payments through the bank port, `sync` and `aggregation` bring accounts, balances and transactions in,
//! `read_side` runs the read models' migrations and the projection runner, `queries` reads the read models,
//! `expiry` expires lapsed consents, `audit` reads an aggregate's history as of a time, `tenants` holds API
//! keys, `http` serves the API, `config` reads `consentry.toml`, `cli_bank` and `cli_projections` are CLI
//! commands, and `bench` measures Consentry against its baselines.

pub mod aggregation;
pub mod audit;
pub mod bank_flows;
pub mod banks;
pub mod bench;
pub mod bench_categorize;
pub mod bench_report;
pub mod cli_bank;
pub mod cli_projections;
pub mod config;
pub mod demo;
pub mod engine;
pub mod expiry;
pub mod http;
pub mod queries;
pub mod read_side;
pub mod sync;
pub mod tenants;

pub use engine::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};
