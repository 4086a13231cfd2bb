//! The Consentry application: the `Engine` facade a host embeds, the demo, and the commands of the `consentry`
//! binary (`cli_bank` holds the bank-facing ones: the standalone sandbox bank and the bank probe; `bench_*` the
//! benchmarks). It wires the domain to the adapters and the projections.

pub mod audit;
pub mod bank_flows;
pub mod banks;
pub mod bench;
pub mod bench_categorize;
pub mod bench_report;
pub mod cli_bank;
pub mod cli_projections;
pub mod demo;
pub mod engine;
pub mod http;
pub mod queries;
pub mod read_side;
pub mod sync;

pub use engine::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};
