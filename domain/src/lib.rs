//! The domain core of Consentry: value objects (Iban, Currency, Money, typed ids), the Consent and Payment
//! aggregates with their commands, events and state machines, the event metadata every event carries, and the
//! ports (traits) through which the outside world reaches the domain: the clock and the bank.
//!
//! Nothing here does I/O. Aggregates decide from their own state, the command and the `Clock`; adapters and the
//! engine in `app` do the rest.

pub mod account_data;
pub mod bank;
pub mod clock;
pub mod consent;
pub mod error;
pub mod iban;
pub mod ids;
pub mod metadata;
pub mod money;
pub mod payment;
pub mod rates;
pub mod sca;
pub mod schedule;
pub mod versioning;

pub use clock::Clock;
pub use error::FieldError;
pub use iban::Iban;
pub use ids::{BankId, ConsentId, PaymentId, TenantId, UserId};
pub use metadata::{Actor, EventMetadata};
pub use money::{AccountCurrency, Currency, Money};
