#![allow(dead_code)] // each test binary uses a different part of these builders
//! Builders shared by the domain's integration tests: a fixed clock, valid requests, and the event histories
//! that bring each aggregate into each state of docs/events.md.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::consent::{
    Consent, ConsentAccess, ConsentCommand, ConsentEvent, ConsentRequest, ConsentServices, ConsentStage, ExpiryCause,
    RevokedBy,
};
use consentry_domain::payment::{
    BankPayment, InitiationPhase, Payment, PaymentCommand, PaymentEvent, PaymentProduct, PaymentRequest,
    PaymentService, TransactionStatus,
};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{BankId, Clock, ConsentId, Iban, Money, TenantId, UserId};
use uuid::Uuid;

pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid date")
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock(today().and_hms_opt(10, 0, 0).expect("valid time").and_utc()))
}

pub fn consent_services() -> ConsentServices {
    ConsentServices { clock: clock() }
}

pub fn consent_request() -> ConsentRequest {
    ConsentRequest {
        tenant: TenantId::new(),
        user: UserId::new(),
        bank: BankId::parse("swedbank").expect("valid bank"),
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until: NaiveDate::from_ymd_opt(2026, 5, 1).expect("valid date"),
        frequency_per_day: 4,
        renewal_of: None,
    }
}

pub fn bank_consent_recorded() -> ConsentEvent {
    ConsentEvent::BankConsentRecorded {
        bank_consent_id: "bank-consent-1".into(),
        sca: ScaLinks::default(),
    }
}

/// The events that bring a consent into `state` (a state name of docs/events.md).
pub fn consent_history(state: &str) -> Vec<ConsentEvent> {
    let requested = ConsentEvent::ConsentRequested(consent_request());
    let valid = vec![
        requested.clone(),
        bank_consent_recorded(),
        ConsentEvent::ConsentAuthorised,
    ];
    let then = |mut events: Vec<ConsentEvent>, last: ConsentEvent| {
        events.push(last);
        events
    };
    match state {
        "none" => vec![],
        "requested" => vec![requested],
        "awaitingAuthorisation" => vec![requested, bank_consent_recorded()],
        "valid" => valid,
        "rejected" => vec![
            requested,
            ConsentEvent::ConsentRejected {
                reason: "denied".into(),
            },
        ],
        "expired" => then(
            valid,
            ConsentEvent::ConsentExpired {
                cause: ExpiryCause::BankReportedExpired,
            },
        ),
        "revokedByPsu" => then(valid, ConsentEvent::ConsentRevokedByPsu),
        "terminatedByTpp" => then(valid, ConsentEvent::ConsentTerminatedByTpp),
        other => panic!("docs/events.md names an unknown consent state {other:?}"),
    }
}

/// A representative command for each command name of docs/events.md.
pub fn consent_command(name: &str) -> ConsentCommand {
    match name {
        "Request" => ConsentCommand::Request(consent_request()),
        "RecordBankConsent" => ConsentCommand::RecordBankConsent {
            bank_consent_id: "bank-consent-1".into(),
            sca: ScaLinks::default(),
        },
        "Authorise" => ConsentCommand::Authorise,
        "Reject" => ConsentCommand::Reject {
            reason: "denied".into(),
        },
        "Expire" => ConsentCommand::Expire {
            cause: ExpiryCause::BankReportedExpired,
        },
        "Revoke(Psu)" => ConsentCommand::Revoke { by: RevokedBy::Psu },
        "Revoke(Tpp)" => ConsentCommand::Revoke { by: RevokedBy::Tpp },
        "LinkRenewal" => ConsentCommand::LinkRenewal {
            renewed_by: ConsentId::new(),
        },
        "CountUnattendedAccess" => ConsentCommand::CountUnattendedAccess {
            resources: vec!["accounts".into()],
        },
        "WaitForBank" => ConsentCommand::WaitForBank {
            until: (today() + chrono::Days::new(1))
                .and_time(chrono::NaiveTime::MIN)
                .and_utc(),
        },
        other => panic!("docs/events.md names an unknown consent command {other:?}"),
    }
}

/// The state name of docs/events.md for a consent: its stage.
pub fn consent_state(consent: &Consent) -> String {
    let Some(state) = &consent.state else {
        return "none".into();
    };
    match state.stage {
        ConsentStage::Requested => "requested",
        ConsentStage::AwaitingAuthorisation { .. } => "awaitingAuthorisation",
        ConsentStage::Valid { .. } => "valid",
        ConsentStage::Rejected { .. } => "rejected",
        ConsentStage::Expired { .. } => "expired",
        ConsentStage::RevokedByPsu { .. } => "revokedByPsu",
        ConsentStage::TerminatedByTpp { .. } => "terminatedByTpp",
    }
    .into()
}

pub fn iban(raw: &str) -> Iban {
    Iban::parse(raw).expect("valid test IBAN")
}

pub fn payment_request(service: PaymentService) -> PaymentRequest {
    PaymentRequest {
        tenant: TenantId::new(),
        user: UserId::new(),
        bank: BankId::parse("seb").expect("valid bank"),
        service,
        product: PaymentProduct::SepaCreditTransfers,
        debtor: iban("LT121000011101001000"),
        creditor: iban("LT737300010000000003"),
        creditor_name: "Ignitis UAB".into(),
        instructed_amount: Money::parse("instructedAmount", "42.50", "EUR").expect("valid amount"),
        remittance_information: Some("Electricity".into()),
        idempotency_key: Uuid::new_v4(),
    }
}

pub fn bank_payment(status: TransactionStatus) -> BankPayment {
    BankPayment {
        bank_payment_id: "bank-payment-1".into(),
        status,
        sca: ScaLinks::default(),
    }
}

/// The events that bring a payment into `state` (a state name or status code of docs/events.md).
pub fn payment_history(state: &str, service: PaymentService) -> Vec<PaymentEvent> {
    let requested = PaymentEvent::PaymentInitiationRequested(payment_request(service));
    let sending = vec![requested.clone(), PaymentEvent::InitiationAttemptStarted { attempt: 1 }];
    match state {
        "none" => vec![],
        "ready" => vec![requested],
        "sending" => sending,
        "unknown" => {
            let mut events = sending;
            events.push(PaymentEvent::InitiationOutcomeUnknown {
                reason: "timeout".into(),
                bank_payment_id: None,
            });
            events
        }
        code => {
            let status = TransactionStatus::parse(code).expect("docs/events.md names a known status");
            let mut events = sending;
            events.push(PaymentEvent::BankPaymentRecorded(bank_payment(status)));
            events
        }
    }
}

pub fn payment_command(name: &str) -> PaymentCommand {
    match name {
        "RequestInitiation" => PaymentCommand::RequestInitiation(payment_request(PaymentService::Payments)),
        "StartInitiationAttempt" => PaymentCommand::StartInitiationAttempt,
        "RecordBankPayment" => PaymentCommand::RecordBankPayment(bank_payment(TransactionStatus::Rcvd)),
        "RecordInitiationRejected" => PaymentCommand::RecordInitiationRejected {
            reason: "FORMAT_ERROR".into(),
        },
        "RecordUnknownOutcome" => PaymentCommand::RecordUnknownOutcome {
            reason: "timeout".into(),
            bank_payment_id: None,
        },
        "RecordNotSent" => PaymentCommand::RecordNotSent {
            reason: "connection refused".into(),
            retry_at: today().and_hms_opt(10, 0, 5).expect("time").and_utc(),
            psu_ip_address: "192.0.2.10".into(),
        },
        "ReconcileOutcome(found)" => PaymentCommand::ReconcileOutcome {
            found: Some(bank_payment(TransactionStatus::Rcvd)),
        },
        "ReconcileOutcome(notFound)" => PaymentCommand::ReconcileOutcome { found: None },
        "ObserveStatus(ACTC)" => PaymentCommand::ObserveStatus(TransactionStatus::Actc),
        "RequestCancellation" => PaymentCommand::RequestCancellation,
        "StopPolling" => PaymentCommand::StopPolling,
        "ObserveScaStatus" => PaymentCommand::ObserveScaStatus(consentry_domain::sca::ScaStatus::Finalised),
        "RecordFoundInAccount" => PaymentCommand::RecordFoundInAccount {
            transaction_id: "B-1".into(),
            booked: true,
        },
        "RecordAuthorisation" => PaymentCommand::RecordAuthorisation {
            authorisation_id: "auth-1".into(),
            sca: ScaLinks::default(),
        },
        other => panic!("docs/events.md names an unknown payment command {other:?}"),
    }
}

pub fn payment_state(payment: &Payment) -> String {
    match &payment.state {
        None => "none".into(),
        Some(state) => match state.phase {
            InitiationPhase::Ready => "ready".into(),
            InitiationPhase::Sending => "sending".into(),
            InitiationPhase::OutcomeUnknown => "unknown".into(),
            InitiationPhase::Submitted => state.status.map(|s| s.code().to_owned()).unwrap_or_default(),
        },
    }
}
