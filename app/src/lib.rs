//! The Consentry application: the `Engine` facade a host embeds, the demo, and the command-line interface
//! (`consentry demo`, ...). It wires the domain to the adapters and the projections.

pub mod audit;
pub mod bench;
pub mod cli_projections;
pub mod demo;
pub mod engine;
pub mod read_side;

pub use engine::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};
