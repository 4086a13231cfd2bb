//! The bank port: everything Consentry asks of a bank (ASPSP), in domain terms. The Berlin Group client in
//! `consentry-adapters` implements [`BankPort`] over HTTP; tests and the engine only ever see this trait, the
//! request and response types below and the typed [`BankError`]. Bank-side ids (consentId, paymentId, account
//! resourceId, authorisationId) are the bank's opaque strings.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::consent::{ConsentAccess, ConsentStatus};
use crate::payment::{BankPayment, PaymentProduct, PaymentRequest, PaymentService, TransactionStatus};
use crate::sca::{ScaApproach, ScaLinks, ScaStatus};
use crate::{AccountCurrency, Iban, Money};

/// Whether the user is looking at the screen right now. Berlin Group wants `PSU-IP-Address` on account reads
/// if and only if the user is present; reads without it count against the consent's frequencyPerDay.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PsuContext {
    ip_address: Option<String>,
}

impl PsuContext {
    /// The user triggered this call from a device with this IP address.
    pub fn present(ip_address: impl Into<String>) -> Self {
        Self {
            ip_address: Some(ip_address.into()),
        }
    }

    /// A background job (sync, renewal, polling) with no user at hand.
    pub fn absent() -> Self {
        Self { ip_address: None }
    }

    pub fn ip_address(&self) -> Option<&str> {
        self.ip_address.as_deref()
    }
}

/// Where the bank sends the user back after the redirect SCA (`TPP-Redirect-URI`, `TPP-Nok-Redirect-URI`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUris {
    pub ok: String,
    pub nok: Option<String>,
}

/// The SCA-related choices every initiation (consent or payment) carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaRequest {
    /// The user's IP address: mandatory on consent creation and payment initiation.
    pub psu_ip_address: String,
    /// `PSU-ID`, when the bank needs the user's login to start a decoupled SCA.
    pub psu_id: Option<String>,
    pub redirect: Option<RedirectUris>,
    /// Sent as `TPP-Redirect-Preferred: true` or `TPP-Decoupled-Preferred: true`.
    pub preferred_approach: Option<ScaApproach>,
}

/// `POST /v1/consents`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCreation {
    pub access: ConsentAccess,
    pub recurring_indicator: bool,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    pub combined_service_indicator: bool,
    pub sca: ScaRequest,
}

/// The bank's answer to a consent creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedConsent {
    pub consent_id: String,
    pub status: ConsentStatus,
    pub sca: ScaLinks,
}

/// `GET /v1/consents/{consentId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentDetails {
    pub access: ConsentAccess,
    pub recurring_indicator: bool,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    pub last_action_date: Option<NaiveDate>,
    pub status: ConsentStatus,
}

/// An authorisation sub-resource of a consent, a payment or a payment's cancellation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub authorisation_id: String,
    pub sca_status: ScaStatus,
    pub sca: ScaLinks,
}

/// One entry of `GET /v1/accounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    /// The bank's `resourceId`, used in the account's balance and transaction paths.
    pub resource_id: String,
    pub iban: Option<Iban>,
    pub currency: AccountCurrency,
    pub name: Option<String>,
    pub product: Option<String>,
    pub cash_account_type: Option<String>,
}

/// One entry of a bank's answer (an account, a balance, a transaction) that Consentry could not read. It is
/// kept out of what is recorded, and reported; the entries around it are kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryProblem {
    /// The resource the answer was for: `accounts`, `accounts/{id}/balances`, `accounts/{id}/transactions`.
    pub resource: String,
    /// The entry's id as the bank gave it (resourceId, transactionId, entryReference), else its place in the
    /// answer (`accounts[2]`, `booked[7]`).
    pub entry: String,
    /// The field that did not parse, as the spec names it (`iban`, `transactionAmount.amount`).
    pub field: String,
    pub problem: String,
}

impl std::fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entry {}: {}: {}",
            self.resource, self.entry, self.field, self.problem
        )
    }
}

/// A list a bank answered: the entries that parsed, and a problem for each one that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing<T> {
    pub entries: Vec<T>,
    pub problems: Vec<EntryProblem>,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// Berlin Group `balanceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BalanceType {
    ClosingBooked,
    Expected,
    OpeningBooked,
    InterimAvailable,
    InterimBooked,
    ForwardAvailable,
    NonInvoiced,
}

impl BalanceType {
    pub const ALL: [BalanceType; 7] = [
        Self::ClosingBooked,
        Self::Expected,
        Self::OpeningBooked,
        Self::InterimAvailable,
        Self::InterimBooked,
        Self::ForwardAvailable,
        Self::NonInvoiced,
    ];

    /// The Berlin Group spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ClosingBooked => "closingBooked",
            Self::Expected => "expected",
            Self::OpeningBooked => "openingBooked",
            Self::InterimAvailable => "interimAvailable",
            Self::InterimBooked => "interimBooked",
            Self::ForwardAvailable => "forwardAvailable",
            Self::NonInvoiced => "nonInvoiced",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == input)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub balance_type: BalanceType,
    pub amount: Money,
    pub reference_date: Option<NaiveDate>,
}

/// `bookingStatus` of a transaction query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Booked,
    Pending,
    Both,
}

impl BookingStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Pending => "pending",
            Self::Both => "both",
        }
    }
}

/// `GET /v1/accounts/{id}/transactions?bookingStatus=..&dateFrom=..&dateTo=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    pub booking_status: BookingStatus,
    pub date_from: NaiveDate,
    pub date_to: Option<NaiveDate>,
}

/// One booked or pending transaction as the bank reports it. The amount is negative for a debit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankTransaction {
    pub transaction_id: Option<String>,
    pub entry_reference: Option<String>,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    pub amount: Money,
    pub creditor_name: Option<String>,
    /// The counterparty's IBAN as the bank sent it: shown, never validated (a bank's typo in another party's
    /// account must not hide the transaction).
    pub creditor_iban: Option<String>,
    pub debtor_name: Option<String>,
    pub debtor_iban: Option<String>,
    pub remittance_information: Option<String>,
    pub bank_transaction_code: Option<String>,
    /// The ISO 20022 end-to-end id the payer gave (`endToEndId`): how a payment Consentry initiated is found
    /// in the debtor's account.
    pub end_to_end_id: Option<String>,
}

/// All pages of a transaction query, merged, with the entries that did not parse and the pages read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransactionReport {
    pub booked: Vec<BankTransaction>,
    pub pending: Vec<BankTransaction>,
    pub problems: Vec<EntryProblem>,
    pub pages: usize,
}

/// `POST /v1/{payment-service}/{payment-product}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInitiation {
    pub service: PaymentService,
    pub product: PaymentProduct,
    pub debtor: Iban,
    pub creditor: Iban,
    pub creditor_name: String,
    pub instructed_amount: Money,
    pub remittance_information: Option<String>,
    pub end_to_end_id: String,
    /// `X-Request-ID`. Stable per payment intent so a bank that de-duplicates on it can; Consentry never
    /// relies on that.
    pub request_id: Uuid,
    pub sca: ScaRequest,
}

impl PaymentInitiation {
    /// The initiation of a Payment aggregate's request, keyed by its idempotency key.
    pub fn from_request(request: &PaymentRequest, sca: ScaRequest) -> Self {
        Self {
            service: request.service,
            product: request.product,
            debtor: request.debtor.clone(),
            creditor: request.creditor.clone(),
            creditor_name: request.creditor_name.clone(),
            instructed_amount: request.instructed_amount,
            remittance_information: request.remittance_information.clone(),
            end_to_end_id: request.end_to_end_id(),
            request_id: request.idempotency_key,
            sca,
        }
    }
}

/// Addresses one payment resource at the bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentResource {
    pub service: PaymentService,
    pub product: PaymentProduct,
    pub payment_id: String,
}

/// `GET /v1/{payment-service}/{payment-product}/{paymentId}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentDetails {
    pub debtor: Option<Iban>,
    pub creditor: Option<Iban>,
    pub creditor_name: String,
    pub instructed_amount: Money,
    pub end_to_end_id: Option<String>,
    pub status: Option<TransactionStatus>,
}

/// What `DELETE /v1/{payment-service}/{payment-product}/{paymentId}` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancellationOutcome {
    /// 204: cancelled, nothing more to do.
    Cancelled,
    /// 202: the bank wants the user to authorise the cancellation.
    AuthorisationRequired { status: TransactionStatus, sca: ScaLinks },
}

/// How long a bank asked Consentry to wait (`Retry-After`): a delay in seconds, or a moment (HTTP date).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Delay(Duration),
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// The earliest moment the next attempt may be made, for an answer received at `now`.
    pub fn not_before(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Delay(delay) => now + chrono::Duration::from_std(*delay).unwrap_or(chrono::Duration::MAX),
            Self::At(moment) => (*moment).max(now),
        }
    }
}

/// Everything that can go wrong talking to a bank. The Berlin Group error codes carry the bank's text; the
/// last four are about the exchange itself. `Timeout` and `Transport` leave the outcome unknown: the request may
/// have been processed, so a payment must be reconciled before it is ever sent again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("CONSENT_EXPIRED: {0}")]
    ConsentExpired(String),
    #[error("CONSENT_INVALID: {0}")]
    ConsentInvalid(String),
    #[error("CONSENT_UNKNOWN: {0}")]
    ConsentUnknown(String),
    #[error("ACCESS_EXCEEDED: {text}")]
    AccessExceeded {
        text: String,
        retry_after: Option<RetryAfter>,
    },
    #[error("FORMAT_ERROR: {0}")]
    FormatError(String),
    #[error("RESOURCE_UNKNOWN: {0}")]
    ResourceUnknown(String),
    #[error("STATUS_INVALID: {0}")]
    StatusInvalid(String),
    #[error("CANCELLATION_INVALID: {0}")]
    CancellationInvalid(String),
    #[error("PAYMENT_FAILED: {0}")]
    PaymentFailed(String),
    #[error("PERIOD_INVALID: {0}")]
    PeriodInvalid(String),
    #[error("PRODUCT_INVALID: {0}")]
    ProductInvalid(String),
    #[error("the bank did not answer in time")]
    Timeout,
    /// No connection could be made: the request was never sent.
    #[error("the bank could not be reached: {0}")]
    Unreachable(String),
    /// A 2xx that created a resource (its `Location` names it) but whose body does not parse.
    #[error("the bank created {payment_id} but its answer does not parse: {why}")]
    CreatedUnreadable { payment_id: String, why: String },
    #[error("transport failure: {0}")]
    Transport(String),
    #[error("the bank's answer does not parse: {0}")]
    Malformed(String),
    #[error("unexpected HTTP status {status}{}", shown_body(.body))]
    UnexpectedStatus { status: u16, body: String },
    /// A 3xx: Consentry follows no redirect, so the consent and the user's address never leave the bank.
    #[error("HTTP {status} redirect to {location:?} not followed")]
    Redirected { status: u16, location: String },
    /// A `next` link (or another link) that leads outside the bank's base URL, or back to a page already read.
    #[error("link refused: {0}")]
    LinkRefused(String),
    /// A transaction listing over its budget of pages, bytes or time, or a sync over its time budget.
    #[error("over budget: {0}")]
    OverBudget(String),
}

/// `: {body}`, or that there was none.
fn shown_body(body: &str) -> String {
    if body.trim().is_empty() {
        " without a body".to_owned()
    } else {
        format!(": {body}")
    }
}

impl BankError {
    /// The error's code: the Berlin Group `tppMessages` code, or what went wrong on the way. A bounded set, fit
    /// for a metric's label.
    pub fn code(&self) -> &'static str {
        match self {
            BankError::ConsentExpired(_) => "CONSENT_EXPIRED",
            BankError::ConsentInvalid(_) => "CONSENT_INVALID",
            BankError::ConsentUnknown(_) => "CONSENT_UNKNOWN",
            BankError::AccessExceeded { .. } => "ACCESS_EXCEEDED",
            BankError::FormatError(_) => "FORMAT_ERROR",
            BankError::ResourceUnknown(_) => "RESOURCE_UNKNOWN",
            BankError::StatusInvalid(_) => "STATUS_INVALID",
            BankError::CancellationInvalid(_) => "CANCELLATION_INVALID",
            BankError::PaymentFailed(_) => "PAYMENT_FAILED",
            BankError::PeriodInvalid(_) => "PERIOD_INVALID",
            BankError::ProductInvalid(_) => "PRODUCT_INVALID",
            BankError::Timeout => "TIMEOUT",
            BankError::Unreachable(_) => "UNREACHABLE",
            BankError::CreatedUnreadable { .. } => "CREATED_UNREADABLE",
            BankError::Transport(_) => "TRANSPORT",
            BankError::Malformed(_) => "MALFORMED",
            BankError::UnexpectedStatus { .. } => "UNEXPECTED_STATUS",
            BankError::Redirected { .. } => "REDIRECTED",
            BankError::LinkRefused(_) => "LINK_REFUSED",
            BankError::OverBudget(_) => "OVER_BUDGET",
        }
    }

    /// True when the bank may have processed the request although no usable answer arrived: no answer in time,
    /// a connection dropped after sending, a 2xx whose body does not parse, a redirect, a 5xx, 408 or 504 (a 500
    /// may come after the bank stored the payment). Such a request is never sent again blindly.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            BankError::Timeout
            | BankError::Transport(_)
            | BankError::Redirected { .. }
            | BankError::Malformed(_)
            | BankError::CreatedUnreadable { .. } => true,
            BankError::UnexpectedStatus { status, .. } => *status == 408 || *status >= 500,
            _ => false,
        }
    }

    /// True when the request is known not to have been processed: it never left (no connection), or the bank
    /// turned it away for its rate (429) before doing anything. Sending it again later is safe.
    pub fn not_sent(&self) -> bool {
        matches!(self, BankError::Unreachable(_) | BankError::AccessExceeded { .. })
    }

    /// The payment the bank created, when its answer named it although its body could not be read.
    pub fn created_payment_id(&self) -> Option<&str> {
        match self {
            BankError::CreatedUnreadable { payment_id, .. } => Some(payment_id),
            _ => None,
        }
    }
}

/// The operations Consentry needs from a bank, Berlin Group NextGenPSD2 shaped.
#[async_trait]
pub trait BankPort: Send + Sync {
    async fn create_consent(&self, request: &ConsentCreation) -> Result<CreatedConsent, BankError>;
    async fn get_consent(&self, consent_id: &str) -> Result<ConsentDetails, BankError>;
    async fn consent_status(&self, consent_id: &str) -> Result<ConsentStatus, BankError>;
    async fn delete_consent(&self, consent_id: &str) -> Result<(), BankError>;
    async fn start_consent_authorisation(&self, consent_id: &str) -> Result<Authorisation, BankError>;
    async fn consent_sca_status(&self, consent_id: &str, authorisation_id: &str) -> Result<ScaStatus, BankError>;

    async fn accounts(&self, consent_id: &str, psu: &PsuContext) -> Result<Listing<BankAccount>, BankError>;
    async fn balances(
        &self,
        consent_id: &str,
        account_id: &str,
        psu: &PsuContext,
    ) -> Result<Listing<Balance>, BankError>;
    async fn transactions(
        &self,
        consent_id: &str,
        account_id: &str,
        query: &TransactionQuery,
        psu: &PsuContext,
    ) -> Result<TransactionReport, BankError>;

    async fn initiate_payment(&self, request: &PaymentInitiation) -> Result<BankPayment, BankError>;
    async fn get_payment(&self, payment: &PaymentResource) -> Result<PaymentDetails, BankError>;
    async fn payment_status(&self, payment: &PaymentResource) -> Result<TransactionStatus, BankError>;
    async fn cancel_payment(&self, payment: &PaymentResource) -> Result<CancellationOutcome, BankError>;
    async fn start_payment_authorisation(&self, payment: &PaymentResource) -> Result<Authorisation, BankError>;
    async fn payment_sca_status(
        &self,
        payment: &PaymentResource,
        authorisation_id: &str,
    ) -> Result<ScaStatus, BankError>;
}
