//! The Consentry application: the `Engine` facade a host embeds, the demo, and the command-line interface
//! (`consentry demo`, `replay`, `audit`, `bench`, ...). It wires the domain to the adapters and the
//! projections: `read_side` runs the read models' migrations with the event log's and starts, inspects and
//! rebuilds the projection runner; `audit` reads an aggregate's history as of a time; `bench` measures the
//! stores against their cqrs-es baselines.

pub mod audit;
pub mod bench;
pub mod cli_projections;
pub mod demo;
pub mod engine;
pub mod read_side;

pub use engine::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};
