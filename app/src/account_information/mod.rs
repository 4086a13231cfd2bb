//! Account information: synchronising a consent's accounts, balances and transactions within its unattended
//! budget, aggregating balances across banks, and the read models' queries; with their routes.

pub mod aggregation;
pub(crate) mod routes;
pub mod sync;
