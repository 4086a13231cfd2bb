//! The `consentry` application crate: the commands of the `consentry` binary. `cli_bank` holds the bank-facing
//! ones (the standalone sandbox bank and the bank probe).

pub mod cli_bank;
