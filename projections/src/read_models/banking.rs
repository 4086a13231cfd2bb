//! The account-information read models (`accounts`, `balances`, `transactions`, `spending`). Their tables and
//! projections exist so hosts and jobs can rely on them; the events that fill them (accounts and transactions
//! fetched from banks, categorisation) arrive with later issues, so for now they only empty their tables on a
//! rebuild.

pub(super) const CLEAR_ACCOUNTS: &[&str] = &["DELETE FROM balances", "DELETE FROM accounts"];
pub(super) const CLEAR_TRANSACTIONS: &[&str] = &["DELETE FROM transactions"];
pub(super) const CLEAR_SPENDING: &[&str] = &["DELETE FROM spending"];
