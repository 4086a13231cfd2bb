//! The Consentry application library: the `Engine` a host embeds, and the HTTP API. It is sliced by capability,
//! each module holding its service code and its HTTP routes side by side:
//!
//! - `consents`: connecting a bank through a verified SCA, reading a consent's status back, expiring lapsed
//!   consents;
//! - `account_information`: syncing within the unattended budget, aggregating balances across banks;
//! - `payments`: sending a payment so that it is never sent twice, and following its status;
//! - `tenants`: tenants and their API keys; `audit`: an aggregate's history as of a time;
//! - `idempotency`: the answers to requests sent with an `Idempotency-Key`, kept 24 hours per tenant.
//!
//! `engine` is the composition root that wires the event store, the banks, the clock and the read side
//! together; `read_side` runs the projections; `http` composes the
//! capabilities' routes and serves them; `banks` and `config` say which banks there are (`consentry.toml`). The
//! `consentry` binary's commands, its benchmarks and its demo live beside it in `src/cli` and `src/demo`,
//! outside this library.

pub mod account_information;
pub mod audit;
pub mod banks;
pub mod config;
pub mod consents;
pub mod dashboard;
pub mod engine;
pub mod http;
pub mod idempotency;
pub mod observability;
pub mod payments;
pub mod read_side;
pub mod scheduler;
pub mod tenants;

pub use consents::ConsentInput;
pub use engine::{Engine, EngineError, RecordedEvent, RequestContext};
pub use payments::PaymentInput;
