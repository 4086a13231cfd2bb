//! The errors of the read side.

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
    /// The runtime shut down under a rebuild's planning.
    #[error("the rebuild stopped: {0}")]
    Stopped(String),
    #[error("no projection is named {0:?}; known: consents, payments, accounts, transactions, spending")]
    UnknownProjection(String),
}
