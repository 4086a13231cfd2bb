//! The JSON shapes of what the read models and the domain answer with, described for the OpenAPI document.
//! The views live in crates that know nothing of HTTP (`consentry-domain`, `consentry-projections`), so their
//! schemas are written here, type by type, under the views' own names; the test suite checks every real answer
//! against them, so a view and its schema cannot drift apart unnoticed. These types are described, never built.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, Utc};
use utoipa::ToSchema;
use uuid::Uuid;

/// An exact amount: a decimal string (never a float) and its ISO 4217 currency.
#[derive(ToSchema)]
#[schema(as = Money)]
pub(crate) struct MoneySchema {
    #[schema(example = "1234.56")]
    amount: String,
    #[schema(example = "EUR")]
    currency: String,
}

/// Berlin Group consentStatus.
#[derive(ToSchema)]
#[schema(as = ConsentStatus, rename_all = "camelCase")]
pub(crate) enum ConsentStatusSchema {
    Received,
    Valid,
    Rejected,
    Expired,
    RevokedByPsu,
    TerminatedByTpp,
}

/// What a consent gives access to.
#[derive(ToSchema)]
#[schema(as = AccessKind, rename_all = "camelCase")]
pub(crate) enum AccessKindSchema {
    AllPsd2,
    AvailableAccounts,
    Dedicated,
}

/// The SCA approach (response header `ASPSP-SCA-Approach`).
#[derive(ToSchema)]
#[schema(as = ScaApproach, rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ScaApproachSchema {
    Redirect,
    Decoupled,
    Embedded,
    Oauth,
}

/// A consent as the `consents` read model holds it, with the days it has left.
#[derive(ToSchema)]
#[schema(as = ConsentView, rename_all = "camelCase")]
pub(crate) struct ConsentViewSchema {
    consent: Uuid,
    bank: String,
    access: Option<AccessKindSchema>,
    recurring: Option<bool>,
    frequency_per_day: Option<i32>,
    valid_until: Option<NaiveDate>,
    /// validUntil minus today: 0 on the last valid day, negative after it.
    days_left: Option<i64>,
    status: Option<ConsentStatusSchema>,
    /// The rejection reason or the expiry cause.
    status_reason: Option<String>,
    sca_redirect_url: Option<String>,
    renewal_of: Option<Uuid>,
    renewed_by: Option<Uuid>,
    requested_at: Option<DateTime<Utc>>,
    authorised_at: Option<DateTime<Utc>>,
    status_changed_at: Option<DateTime<Utc>>,
}

/// A bank account a user's consent gives access to.
#[derive(ToSchema)]
#[schema(as = AccountView, rename_all = "camelCase")]
pub(crate) struct AccountViewSchema {
    consent: Uuid,
    /// The bank's resourceId, unique within the consent.
    account_id: String,
    bank: String,
    iban: Option<String>,
    currency: String,
    name: Option<String>,
    product: Option<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

/// Whether a transaction is booked, pending, or was pending and vanished.
#[derive(ToSchema)]
#[schema(as = BookingState, rename_all = "camelCase")]
pub(crate) enum BookingStateSchema {
    Booked,
    Pending,
    Vanished,
}

/// Money out (spending) or in (income).
#[derive(ToSchema)]
#[schema(as = Flow, rename_all = "camelCase")]
pub(crate) enum FlowSchema {
    Spending,
    Income,
}

/// A bank transaction.
#[derive(ToSchema)]
#[schema(as = TransactionView, rename_all = "camelCase")]
pub(crate) struct TransactionViewSchema {
    consent: Uuid,
    account_id: String,
    transaction_id: String,
    bank: String,
    status: BookingStateSchema,
    booking_date: Option<NaiveDate>,
    value_date: Option<NaiveDate>,
    /// Signed: negative is money out.
    amount: MoneySchema,
    counterparty: Option<String>,
    description: String,
    category: String,
    flow: FlowSchema,
}

/// Spending or income of one category in one currency over a month.
#[derive(ToSchema)]
#[schema(as = SpendingLine)]
pub(crate) struct SpendingLineSchema {
    category: String,
    flow: FlowSchema,
    total: MoneySchema,
    count: i64,
}

/// How a rule matches a transaction.
#[derive(ToSchema)]
#[schema(as = RuleMatch, rename_all = "camelCase")]
pub(crate) enum RuleMatchSchema {
    Keyword,
    CounterpartyIban,
    BankTransactionCode,
    DescriptionRegex,
    AmountOnly,
}

/// Bounds on the absolute amount, both inclusive (decimal strings).
#[derive(ToSchema)]
#[schema(as = AmountRange)]
pub(crate) struct AmountRangeSchema {
    min: Option<String>,
    max: Option<String>,
}

/// A categorisation rule. `match` says which of `keyword`, `iban`, `code` or `pattern` it needs.
#[derive(ToSchema)]
#[schema(as = Rule)]
pub(crate) struct RuleSchema {
    category: String,
    flow: FlowSchema,
    /// Higher first (default 0).
    priority: Option<i32>,
    #[schema(rename = "match")]
    match_by: RuleMatchSchema,
    keyword: Option<String>,
    iban: Option<String>,
    code: Option<String>,
    pattern: Option<String>,
    amount: Option<AmountRangeSchema>,
}

/// A tenant's rule and its id.
#[derive(ToSchema)]
#[schema(as = TenantRule)]
pub(crate) struct TenantRuleSchema {
    id: Uuid,
    rule: RuleSchema,
}

/// A status a payment reached, and when.
#[derive(ToSchema)]
#[schema(as = StatusChange)]
pub(crate) struct StatusChangeSchema {
    /// ISO 20022 transaction status (RCVD, ACSC, RJCT, ...).
    status: String,
    at: DateTime<Utc>,
}

/// A payment order as the `payments` read model holds it, with every status it reached.
#[derive(ToSchema)]
#[schema(as = PaymentView, rename_all = "camelCase")]
pub(crate) struct PaymentViewSchema {
    payment: Uuid,
    bank: String,
    /// payments, bulk-payments or periodic-payments.
    service: Option<String>,
    /// sepa-credit-transfers, instant-sepa-credit-transfers, target-2-payments, cross-border-credit-transfers.
    product: Option<String>,
    creditor_name: Option<String>,
    amount: MoneySchema,
    /// ready, sending, outcomeUnknown or submitted.
    phase: Option<String>,
    /// The latest ISO 20022 transaction status.
    status: Option<String>,
    bank_payment_id: Option<String>,
    attempts: Option<i32>,
    cancellation_requested: Option<bool>,
    requested_at: Option<DateTime<Utc>>,
    status_changed_at: Option<DateTime<Utc>>,
    history: Vec<StatusChangeSchema>,
}
