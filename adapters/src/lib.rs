//! Everything in Consentry that touches the outside world. `berlin_group` is the NextGenPSD2 client that
//! implements the domain's bank port over HTTP; `sandbox` is the sandbox bank, a real HTTP server speaking the
//! same protocol for several banks, used by the demo and the tests; `config` reads `consentry.toml` (the banks
//! and the sandbox's behaviour).

pub mod berlin_group;
pub mod config;
pub mod sandbox;

#[cfg(test)]
mod conformance;
