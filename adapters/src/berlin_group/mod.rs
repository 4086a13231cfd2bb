//! The Berlin Group NextGenPSD2 1.3.12 client: [`BerlinGroupClient`] implements the domain's `BankPort` over
//! HTTP (reqwest, rustls) for one configured bank. `wire` holds the JSON bodies, `reader` reads the lists of
//! account information entry by entry, `errors` maps a bank's error answers (tppMessages, problem+json, 429) to
//! the typed `BankError`.

mod client;
mod errors;
pub mod probe;
mod reader;
pub(crate) mod wire;

pub use client::{BerlinGroupClient, MAX_BODY_BYTES};
