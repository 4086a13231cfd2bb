//! Account information: synchronising a consent's accounts, balances and transactions within its unattended
//! budget, aggregating balances across banks, what the read models show a user, and the tenant's categorisation
//! rules; with their routes.

pub mod aggregation;
mod commands;
mod queries;
pub(crate) mod routes;
pub mod sync;

pub use consentry_projections::read_models::accounts::{AccountView, BalanceView, BALANCE_PREFERENCE};
pub use consentry_projections::read_models::rules::TenantRule;
pub use consentry_projections::read_models::spending::SpendingLine;
pub use consentry_projections::read_models::transactions::{
    BookingState, TransactionCursor, TransactionPage, TransactionView,
};
