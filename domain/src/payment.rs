//! The Payment aggregate: one payment order from the user's intent to a final ISO 20022 status. It is where
//! "never initiated twice" is enforced: the idempotency key is fixed at creation, an initiation attempt can
//! only start from a known-not-sent state, and an unknown outcome (a timeout) must be reconciled with the bank
//! before anything is sent again. Reads top to bottom: commands, events, state, decide, evolve.

use std::fmt;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::sca::{ScaLinks, ScaStatus};
use crate::{BankId, Currency, FieldError, Iban, Money, TenantId, UserId};

/// Berlin Group `payment-service`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentService {
    Payments,
    BulkPayments,
    PeriodicPayments,
}

/// Berlin Group `payment-product`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaymentProduct {
    SepaCreditTransfers,
    InstantSepaCreditTransfers,
    #[serde(rename = "target-2-payments")]
    Target2Payments,
    CrossBorderCreditTransfers,
}

impl PaymentProduct {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentProduct::SepaCreditTransfers => "sepa-credit-transfers",
            PaymentProduct::InstantSepaCreditTransfers => "instant-sepa-credit-transfers",
            PaymentProduct::Target2Payments => "target-2-payments",
            PaymentProduct::CrossBorderCreditTransfers => "cross-border-credit-transfers",
        }
    }

    /// SEPA and TARGET2 products move euros only.
    fn euro_only(&self) -> bool {
        !matches!(self, PaymentProduct::CrossBorderCreditTransfers)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Commands

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    pub tenant: TenantId,
    pub user: UserId,
    pub bank: BankId,
    pub service: PaymentService,
    pub product: PaymentProduct,
    pub debtor: Iban,
    pub creditor: Iban,
    pub creditor_name: String,
    pub instructed_amount: Money,
    pub remittance_information: Option<String>,
    /// Fixed when the intent is created; sent as X-Request-ID on every initiation attempt and used to find the
    /// payment at the bank after a timeout.
    pub idempotency_key: Uuid,
}

impl PaymentRequest {
    /// The ISO 20022 end-to-end id (at most 35 characters), derived from the idempotency key so every attempt
    /// carries the same one.
    pub fn end_to_end_id(&self) -> String {
        self.idempotency_key.simple().to_string()
    }

    /// The payment at the bank, once the bank has given it `payment_id`.
    pub fn resource(&self, payment_id: impl Into<String>) -> crate::bank::PaymentResource {
        crate::bank::PaymentResource {
            service: self.service,
            product: self.product,
            payment_id: payment_id.into(),
        }
    }
}

/// What the bank answered to an initiation: its payment id, the first status and the SCA links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankPayment {
    pub bank_payment_id: String,
    pub status: TransactionStatus,
    pub sca: ScaLinks,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PaymentCommand {
    RequestInitiation(PaymentRequest),
    /// Starts sending the initiation to the bank; only from a state known not to be at the bank.
    StartInitiationAttempt,
    RecordBankPayment(BankPayment),
    /// The bank refused the initiation outright (for example FORMAT_ERROR or PAYMENT_FAILED).
    RecordInitiationRejected {
        reason: String,
    },
    /// The attempt ended without an answer Consentry can rely on (timeout, dropped connection, a 5xx, a 2xx that
    /// does not parse): the bank may or may not have it. `bank_payment_id` when the answer named the payment
    /// (its `Location`) although its body could not be read.
    RecordUnknownOutcome {
        reason: String,
        bank_payment_id: Option<String>,
    },
    /// The attempt is known not to have created the payment (the connection was refused before sending, 429,
    /// a 4xx that says nothing was created): a new attempt with the same key is safe.
    RecordNotSent {
        reason: String,
        /// When the next attempt may go (the bank's `Retry-After`, or a back-off).
        retry_at: DateTime<Utc>,
        /// The user's address the attempt carried, for the automatic retry.
        psu_ip_address: String,
    },
    /// What looking the payment up at the bank found after an unknown outcome: the payment, or nothing (it never
    /// arrived, so a new attempt with the same key is safe).
    ReconcileOutcome {
        found: Option<BankPayment>,
    },
    ObserveStatus(TransactionStatus),
    RequestCancellation,
    /// The scaStatus of the payment's authorisation, as the bank reports it (decoupled approach: the user
    /// decides in the bank's app, and Consentry follows it).
    ObserveScaStatus(ScaStatus),
    /// Reconciliation found the payment's end-to-end id among the debtor account's transactions (read through
    /// account information): the bank has executed it (booked) or is executing it (pending).
    RecordFoundInAccount {
        transaction_id: String,
        booked: bool,
    },
    /// The payment's authorisation was started at the bank (explicitly, as Consentry asks banks to let it do):
    /// its id and where the user authorises (the redirect link, or the scaStatus link to follow).
    RecordAuthorisation {
        authorisation_id: String,
        sca: ScaLinks,
    },
    /// The status polling schedule ran out (24 hours after submission) without a final status: the payment
    /// says so, and the host is told, instead of being polled forever.
    StopPolling,
}

impl PaymentCommand {
    pub fn name(&self) -> &'static str {
        match self {
            PaymentCommand::RequestInitiation(_) => "RequestInitiation",
            PaymentCommand::StartInitiationAttempt => "StartInitiationAttempt",
            PaymentCommand::RecordBankPayment(_) => "RecordBankPayment",
            PaymentCommand::RecordInitiationRejected { .. } => "RecordInitiationRejected",
            PaymentCommand::RecordUnknownOutcome { .. } => "RecordUnknownOutcome",
            PaymentCommand::RecordNotSent { .. } => "RecordNotSent",
            PaymentCommand::ReconcileOutcome { found: Some(_) } => "ReconcileOutcome(found)",
            PaymentCommand::ReconcileOutcome { found: None } => "ReconcileOutcome(notFound)",
            PaymentCommand::ObserveStatus(_) => "ObserveStatus",
            PaymentCommand::RequestCancellation => "RequestCancellation",
            PaymentCommand::StopPolling => "StopPolling",
            PaymentCommand::RecordAuthorisation { .. } => "RecordAuthorisation",
            PaymentCommand::RecordFoundInAccount { .. } => "RecordFoundInAccount",
            PaymentCommand::ObserveScaStatus(_) => "ObserveScaStatus",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Events

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaymentEvent {
    PaymentInitiationRequested(PaymentRequest),
    InitiationAttemptStarted {
        attempt: u32,
    },
    BankPaymentRecorded(BankPayment),
    InitiationRejected {
        reason: String,
    },
    #[serde(rename_all = "camelCase")]
    InitiationOutcomeUnknown {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bank_payment_id: Option<String>,
    },
    /// The attempt did not reach the bank: the payment is ready for another attempt, which the scheduler makes
    /// at `retryAt` with the same end-to-end id and the user's address of the first.
    #[serde(rename_all = "camelCase")]
    InitiationNotSent {
        reason: String,
        #[serde(default)]
        retry_at: Option<DateTime<Utc>>,
        #[serde(default)]
        psu_ip_address: Option<String>,
    },
    InitiationOutcomeReconciled {
        found: Option<BankPayment>,
    },
    /// Whether the status ends the payment is the status's own (`TransactionStatus::is_final`), so the event
    /// carries the status only. Versions 1.1 stored an `isFinal` besides it; see `versioning`.
    PaymentStatusObserved {
        status: TransactionStatus,
    },
    CancellationRequested,
    /// Cancelled before any attempt reached the bank: status CANC without a bank call.
    PaymentCancelledBeforeSending,
    /// Polling stopped 24 hours after submission without a final status.
    StatusPollingStopped,
    /// The initiation whose outcome was unknown was found among the debtor account's transactions: the payment
    /// was sent; booked, it is ACSC, pending, ACTC.
    #[serde(rename_all = "camelCase")]
    InitiationFoundInAccount {
        transaction_id: String,
        booked: bool,
    },
    /// The payment's authorisation moved on at the bank (a scaStatus seen again stores nothing).
    #[serde(rename_all = "camelCase")]
    PaymentScaStatusObserved {
        sca_status: ScaStatus,
    },
    #[serde(rename_all = "camelCase")]
    PaymentAuthorisationStarted {
        authorisation_id: String,
        sca: ScaLinks,
    },
}

/// The current version of `PaymentStatusObserved`; every other payment event is at 1.0. `versioning` brings
/// older stored shapes up to it.
pub const PAYMENT_STATUS_OBSERVED_VERSION: &str = "1.2";

impl DomainEvent for PaymentEvent {
    fn event_type(&self) -> String {
        let name = match self {
            PaymentEvent::PaymentInitiationRequested(_) => "PaymentInitiationRequested",
            PaymentEvent::InitiationAttemptStarted { .. } => "InitiationAttemptStarted",
            PaymentEvent::BankPaymentRecorded(_) => "BankPaymentRecorded",
            PaymentEvent::InitiationRejected { .. } => "InitiationRejected",
            PaymentEvent::InitiationOutcomeUnknown { .. } => "InitiationOutcomeUnknown",
            PaymentEvent::InitiationNotSent { .. } => "InitiationNotSent",
            PaymentEvent::InitiationOutcomeReconciled { .. } => "InitiationOutcomeReconciled",
            PaymentEvent::PaymentStatusObserved { .. } => "PaymentStatusObserved",
            PaymentEvent::CancellationRequested => "CancellationRequested",
            PaymentEvent::PaymentCancelledBeforeSending => "PaymentCancelledBeforeSending",
            PaymentEvent::StatusPollingStopped => "StatusPollingStopped",
            PaymentEvent::PaymentAuthorisationStarted { .. } => "PaymentAuthorisationStarted",
            PaymentEvent::InitiationFoundInAccount { .. } => "InitiationFoundInAccount",
            PaymentEvent::PaymentScaStatusObserved { .. } => "PaymentScaStatusObserved",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        match self {
            PaymentEvent::PaymentStatusObserved { .. } => PAYMENT_STATUS_OBSERVED_VERSION.to_owned(),
            _ => "1.0".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// State

/// ISO 20022 transaction status as Berlin Group uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TransactionStatus {
    /// Received
    Rcvd,
    /// Pending
    Pdng,
    /// PartiallyAcceptedTechnicalCorrect (some authorisations of a multi-level SCA are missing)
    Patc,
    /// AcceptedTechnicalValidation
    Actc,
    /// AcceptedCustomerProfile
    Accp,
    /// AcceptedFundsChecked
    Acfc,
    /// AcceptedWithChange
    Acwc,
    /// AcceptedWithoutPosting
    Acwp,
    /// AcceptedSettlementInProcess
    Acsp,
    /// PartiallyAccepted (bulk payments only)
    Part,
    /// AcceptedSettlementCompleted (debtor's account debited)
    Acsc,
    /// AcceptedCreditSettlementCompleted (creditor's account credited)
    Accc,
    /// Rejected
    Rjct,
    /// Cancelled
    Canc,
}

impl TransactionStatus {
    pub const ALL: [TransactionStatus; 14] = [
        Self::Rcvd,
        Self::Pdng,
        Self::Patc,
        Self::Actc,
        Self::Accp,
        Self::Acfc,
        Self::Acwc,
        Self::Acwp,
        Self::Acsp,
        Self::Part,
        Self::Acsc,
        Self::Accc,
        Self::Rjct,
        Self::Canc,
    ];

    pub fn is_final(&self) -> bool {
        matches!(self, Self::Acsc | Self::Accc | Self::Rjct | Self::Canc)
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Rcvd => "RCVD",
            Self::Pdng => "PDNG",
            Self::Patc => "PATC",
            Self::Actc => "ACTC",
            Self::Accp => "ACCP",
            Self::Acfc => "ACFC",
            Self::Acwc => "ACWC",
            Self::Acwp => "ACWP",
            Self::Acsp => "ACSP",
            Self::Part => "PART",
            Self::Acsc => "ACSC",
            Self::Accc => "ACCC",
            Self::Rjct => "RJCT",
            Self::Canc => "CANC",
        }
    }

    pub fn parse(code: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| FieldError::new("transactionStatus", format!("{code:?} is not an ISO 20022 status")))
    }

    /// How far along the processing chain a status is. A payment moves only to a higher stage (or to RJCT /
    /// CANC, which may end it at any stage).
    fn stage(&self) -> u8 {
        match self {
            Self::Rcvd => 0,
            Self::Pdng | Self::Patc => 1,
            Self::Actc => 2,
            Self::Accp => 3,
            Self::Acfc | Self::Acwc | Self::Acwp => 4,
            Self::Acsp | Self::Part => 5,
            Self::Acsc => 6,
            Self::Accc => 7,
            Self::Rjct | Self::Canc => 8,
        }
    }

    /// Whether a payment in `self` may be observed in `next` (a different status).
    pub fn may_move_to(&self, next: TransactionStatus) -> bool {
        !self.is_final() && next.stage() > self.stage()
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Where an initiation stands with the bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum InitiationPhase {
    /// Not at the bank: an attempt may start.
    Ready,
    /// An attempt is in flight.
    Sending,
    /// The last attempt's outcome is unknown: reconcile before anything else.
    OutcomeUnknown,
    /// The bank has the payment (or refused it): the status tells the rest.
    Submitted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentState {
    pub request: PaymentRequest,
    pub phase: InitiationPhase,
    pub status: Option<TransactionStatus>,
    pub bank_payment_id: Option<String>,
    pub sca: ScaLinks,
    pub attempts: u32,
    pub cancellation_requested: bool,
    /// Status polling ran out before a final status (see [`PaymentCommand::StopPolling`]).
    #[serde(default)]
    pub polling_stopped: bool,
    /// The authorisation Consentry started at the bank, if any.
    #[serde(default)]
    pub authorisation_id: Option<String>,
    /// The user's address of an attempt that did not reach the bank, which its automatic retry carries again.
    #[serde(default)]
    pub retry_psu_ip_address: Option<String>,
    /// The last scaStatus of the payment's authorisation seen at the bank.
    #[serde(default)]
    pub sca_status: Option<ScaStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub state: Option<PaymentState>,
}

impl Payment {
    pub fn status(&self) -> Option<TransactionStatus> {
        self.state.as_ref().and_then(|s| s.status)
    }

    pub fn is_final(&self) -> bool {
        self.status().is_some_and(|s| s.is_final())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("the payment has not been requested")]
    NotRequested,
    #[error("the payment has already been requested")]
    AlreadyRequested,
    #[error("the payment is {0}, a final status: it accepts no more commands")]
    Final(TransactionStatus),
    #[error("{command} is not allowed while the initiation is {phase:?}")]
    NotAllowed {
        command: &'static str,
        phase: InitiationPhase,
    },
    #[error("status {next} does not follow {current}: a payment only moves forward")]
    StatusRegression {
        current: TransactionStatus,
        next: TransactionStatus,
    },
    #[error("status PART applies to bulk payments only")]
    PartialOnlyForBulk,
    #[error("cancellation has already been requested")]
    CancellationAlreadyRequested,
}

// ---------------------------------------------------------------------------------------------------------
// Decide

const MAX_CREDITOR_NAME: usize = 70;
const MAX_REMITTANCE: usize = 140;

fn validate_request(request: &PaymentRequest) -> Result<(), PaymentError> {
    let invalid = |field: &str, problem: String| Err(PaymentError::InvalidField(FieldError::new(field, problem)));
    let amount = request.instructed_amount;
    if !amount.is_positive() {
        return invalid(
            "instructedAmount.amount",
            format!("is {}; a payment must be above zero", amount.amount()),
        );
    }
    if request.product.euro_only() && amount.currency() != Currency::EUR {
        return invalid(
            "instructedAmount.currency",
            format!("is {}; {} are in EUR only", amount.currency(), request.product.as_str()),
        );
    }
    let name = request.creditor_name.trim();
    if name.is_empty() {
        return invalid("creditorName", "is empty".into());
    }
    if name.chars().count() > MAX_CREDITOR_NAME {
        return invalid("creditorName", format!("is longer than {MAX_CREDITOR_NAME} characters"));
    }
    if let Some(remittance) = &request.remittance_information {
        if remittance.chars().count() > MAX_REMITTANCE {
            return invalid(
                "remittanceInformationUnstructured",
                format!("is longer than {MAX_REMITTANCE} characters"),
            );
        }
    }
    if request.creditor == request.debtor {
        return invalid("creditorAccount.iban", "is the debtor's own account".into());
    }
    Ok(())
}

impl Payment {
    pub fn decide(&self, command: PaymentCommand) -> Result<Vec<PaymentEvent>, PaymentError> {
        let Some(state) = &self.state else {
            return match command {
                PaymentCommand::RequestInitiation(request) => {
                    validate_request(&request)?;
                    Ok(vec![PaymentEvent::PaymentInitiationRequested(request)])
                }
                _ => Err(PaymentError::NotRequested),
            };
        };
        if let Some(status) = state.status.filter(TransactionStatus::is_final) {
            // A poller may read the final status more than once: that is not news, and not an error.
            return match command {
                PaymentCommand::ObserveStatus(observed) if observed == status => Ok(vec![]),
                _ => Err(PaymentError::Final(status)),
            };
        }
        let phase = state.phase;
        let not_allowed = |command: &PaymentCommand| PaymentError::NotAllowed {
            command: command.name(),
            phase,
        };
        use InitiationPhase::{OutcomeUnknown, Ready, Sending, Submitted};
        match (command, phase) {
            (PaymentCommand::RequestInitiation(_), _) => Err(PaymentError::AlreadyRequested),
            (PaymentCommand::StartInitiationAttempt, Ready) => Ok(vec![PaymentEvent::InitiationAttemptStarted {
                attempt: state.attempts + 1,
            }]),
            (PaymentCommand::RecordBankPayment(bank), Sending) => {
                check_bulk_only(state, bank.status)?;
                Ok(vec![PaymentEvent::BankPaymentRecorded(bank)])
            }
            (PaymentCommand::RecordInitiationRejected { reason }, Sending) => {
                Ok(vec![PaymentEvent::InitiationRejected { reason }])
            }
            (
                PaymentCommand::RecordUnknownOutcome {
                    reason,
                    bank_payment_id,
                },
                Sending,
            ) => Ok(vec![PaymentEvent::InitiationOutcomeUnknown {
                reason,
                bank_payment_id,
            }]),
            (
                PaymentCommand::RecordNotSent {
                    reason,
                    retry_at,
                    psu_ip_address,
                },
                Sending,
            ) => Ok(vec![PaymentEvent::InitiationNotSent {
                reason,
                retry_at: Some(retry_at),
                psu_ip_address: Some(psu_ip_address),
            }]),
            (PaymentCommand::ReconcileOutcome { found }, OutcomeUnknown) => {
                if let Some(bank) = &found {
                    check_bulk_only(state, bank.status)?;
                }
                Ok(vec![PaymentEvent::InitiationOutcomeReconciled { found }])
            }
            (PaymentCommand::ObserveStatus(next), Submitted) => {
                check_bulk_only(state, next)?;
                match state.status {
                    Some(current) if current == next => Ok(vec![]),
                    Some(current) if !current.may_move_to(next) => {
                        Err(PaymentError::StatusRegression { current, next })
                    }
                    _ => Ok(vec![PaymentEvent::PaymentStatusObserved { status: next }]),
                }
            }
            (PaymentCommand::RequestCancellation, Ready) => Ok(vec![PaymentEvent::PaymentCancelledBeforeSending]),
            (PaymentCommand::ObserveScaStatus(sca_status), Submitted) if state.authorisation_id.is_some() => {
                if state.sca_status == Some(sca_status) {
                    return Ok(vec![]);
                }
                Ok(vec![PaymentEvent::PaymentScaStatusObserved { sca_status }])
            }
            (PaymentCommand::RecordFoundInAccount { transaction_id, booked }, OutcomeUnknown) => {
                Ok(vec![PaymentEvent::InitiationFoundInAccount { transaction_id, booked }])
            }
            (PaymentCommand::RecordAuthorisation { authorisation_id, sca }, Submitted) => {
                if authorisation_id.trim().is_empty() {
                    return Err(PaymentError::InvalidField(FieldError::new(
                        "authorisationId",
                        "is empty",
                    )));
                }
                Ok(vec![PaymentEvent::PaymentAuthorisationStarted {
                    authorisation_id,
                    sca,
                }])
            }
            (PaymentCommand::StopPolling, Submitted) if !state.polling_stopped => {
                Ok(vec![PaymentEvent::StatusPollingStopped])
            }
            (PaymentCommand::RequestCancellation, Submitted) => {
                if state.cancellation_requested {
                    Err(PaymentError::CancellationAlreadyRequested)
                } else {
                    Ok(vec![PaymentEvent::CancellationRequested])
                }
            }
            (command, _) => Err(not_allowed(&command)),
        }
    }
}

fn check_bulk_only(state: &PaymentState, status: TransactionStatus) -> Result<(), PaymentError> {
    if status == TransactionStatus::Part && state.request.service != PaymentService::BulkPayments {
        return Err(PaymentError::PartialOnlyForBulk);
    }
    Ok(())
}

impl Aggregate for Payment {
    const TYPE: &'static str = "Payment";
    type Command = PaymentCommand;
    type Event = PaymentEvent;
    type Error = PaymentError;
    /// A payment decides from its own state and the command alone.
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------------
    // Evolve

    fn apply(&mut self, event: Self::Event) {
        if let PaymentEvent::PaymentInitiationRequested(request) = event {
            self.state = Some(PaymentState {
                request,
                phase: InitiationPhase::Ready,
                status: None,
                bank_payment_id: None,
                sca: ScaLinks::default(),
                attempts: 0,
                cancellation_requested: false,
                polling_stopped: false,
                authorisation_id: None,
                retry_psu_ip_address: None,
                sca_status: None,
            });
            return;
        }
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let record = |state: &mut PaymentState, bank: BankPayment| {
            state.phase = InitiationPhase::Submitted;
            state.status = Some(bank.status);
            state.bank_payment_id = Some(bank.bank_payment_id);
            state.sca = bank.sca;
        };
        match event {
            PaymentEvent::PaymentInitiationRequested(_) => {}
            PaymentEvent::InitiationAttemptStarted { attempt } => {
                state.phase = InitiationPhase::Sending;
                state.attempts = attempt;
            }
            PaymentEvent::BankPaymentRecorded(bank) => record(state, bank),
            PaymentEvent::InitiationRejected { .. } => {
                state.phase = InitiationPhase::Submitted;
                state.status = Some(TransactionStatus::Rjct);
            }
            PaymentEvent::InitiationOutcomeUnknown { bank_payment_id, .. } => {
                state.phase = InitiationPhase::OutcomeUnknown;
                if bank_payment_id.is_some() {
                    state.bank_payment_id = bank_payment_id;
                }
            }
            PaymentEvent::InitiationNotSent { psu_ip_address, .. } => {
                state.phase = InitiationPhase::Ready;
                state.retry_psu_ip_address = psu_ip_address;
            }
            PaymentEvent::InitiationOutcomeReconciled { found: Some(bank) } => record(state, bank),
            PaymentEvent::InitiationOutcomeReconciled { found: None } => state.phase = InitiationPhase::Ready,
            PaymentEvent::PaymentStatusObserved { status } => state.status = Some(status),
            PaymentEvent::CancellationRequested => state.cancellation_requested = true,
            PaymentEvent::PaymentCancelledBeforeSending => {
                state.phase = InitiationPhase::Submitted;
                state.status = Some(TransactionStatus::Canc);
            }
            PaymentEvent::StatusPollingStopped => state.polling_stopped = true,
            PaymentEvent::PaymentScaStatusObserved { sca_status } => state.sca_status = Some(sca_status),
            PaymentEvent::InitiationFoundInAccount { booked, .. } => {
                state.phase = InitiationPhase::Submitted;
                state.status = Some(if booked {
                    TransactionStatus::Acsc
                } else {
                    TransactionStatus::Actc
                });
            }
            PaymentEvent::PaymentAuthorisationStarted { authorisation_id, sca } => {
                state.authorisation_id = Some(authorisation_id);
                state.sca = ScaLinks {
                    approach: sca.approach.or(state.sca.approach),
                    ..sca
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_status_observation_stores_the_status_only() {
        let event = PaymentEvent::PaymentStatusObserved {
            status: TransactionStatus::Accc,
        };
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            json!({"paymentStatusObserved": {"status": "ACCC"}})
        );
        assert_eq!(event.event_version(), PAYMENT_STATUS_OBSERVED_VERSION);
    }

    /// Events stored as 1.1 carry `isFinal`; the current shape has no such field and serde ignores it, so they
    /// load even where no upcaster runs first.
    #[test]
    fn a_stored_status_observation_with_is_final_still_loads() {
        for stored in [
            json!({"paymentStatusObserved": {"status": "RJCT", "isFinal": true}}),
            json!({"paymentStatusObserved": {"status": "ACTC", "isFinal": false}}),
        ] {
            let event: PaymentEvent = serde_json::from_value(stored.clone()).unwrap();
            let PaymentEvent::PaymentStatusObserved { status } = event else {
                panic!("{stored} loaded as {event:?}");
            };
            assert_eq!(json!(status.is_final()), stored["paymentStatusObserved"]["isFinal"]);
        }
    }
}
