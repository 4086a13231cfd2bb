//! The database the projections read the feed from and write their read models to: the event store's own
//! database, as a pool of either kind. Errors of this crate are typed here.

use sqlx::{PgPool, SqlitePool};

use crate::read_models::Dialect;

/// A connection pool to the event store's database.
#[derive(Clone, Debug)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Store {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Store::Postgres(_) => Dialect::Postgres,
            Store::Sqlite(_) => Dialect::Sqlite,
        }
    }
}

/// Evaluates `$body` with `$pool` bound to the pool of whichever store `$store` is. The body is written once
/// and compiled for each store.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::Store::Postgres($pool) => $body,
            $crate::Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// `event` names it: aggregate type and id, sequence, event type and version.
    #[error("event {event} cannot be read: {reason}")]
    Undecodable { event: String, reason: String },
    #[error("read model rows cannot be encoded: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("read model columns cannot be encoded: {0}")]
    Arguments(String),
    #[error("a write planned for PostgreSQL reached SQLite")]
    WrongStore,
    /// An AccountData event names a consent whose ConsentRequested event was never seen.
    #[error("consent {0} has account data but no ConsentRequested event")]
    UnknownConsent(String),
    /// A tenant's stored categorisation rules do not compile (the Engine validates them on the way in).
    #[error("categorisation rules of tenant {tenant}: {reason}")]
    InvalidRules { tenant: String, reason: String },
    /// An amount finer than a millionth of its currency unit, which the spending totals cannot hold exactly.
    #[error("amount {0} is finer than a millionth of its currency unit")]
    AmountPrecision(String),
    #[error("no projection is named {0:?}; known: consents, payments, accounts, transactions, spending")]
    UnknownProjection(String),
}
