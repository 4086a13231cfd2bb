//! The read models' SQL migrations, one concern per file, in the order they run. The application passes them
//! to the event store's migration runner (as its `MigrationSet`), which applies each once. Names carry a
//! `projections/` prefix so they cannot collide with the event log's own migrations in the shared ledger.

/// One migration file: its ledger name and its SQL.
#[derive(Debug, Clone, Copy)]
pub struct SqlMigration {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($file:literal),* $(,)?) => {
        &[$(SqlMigration {
            name: concat!("projections/", $file),
            sql: include_str!(concat!("../migrations/", $dir, "/", $file)),
        }),*]
    };
}

/// Both stores have the same files, one directory each; the list is written once.
macro_rules! both_stores {
    ($($file:literal),* $(,)?) => {
        pub const POSTGRES: &[SqlMigration] = migrations!("postgres": $($file),*);
        pub const SQLITE: &[SqlMigration] = migrations!("sqlite": $($file),*);
    };
}

both_stores!(
    "0001_projection_checkpoints.sql",
    "0002_consents.sql",
    "0003_payments.sql",
    "0004_payment_status_changes.sql",
    "0005_accounts.sql",
    "0006_balances.sql",
    "0007_transactions.sql",
    "0008_spending.sql",
    "0009_consent_owners.sql",
    "0010_accounts_by_consent.sql",
    "0011_balances_by_consent.sql",
    "0012_transactions_by_consent.sql",
    "0013_spending_by_flow.sql",
    "0014_categorisation_rules.sql",
    "0015_replay_account_information.sql",
);
