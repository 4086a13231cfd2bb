//! Property tests: random command sequences, run through cqrs-es with its in-memory event store, never leave a
//! final state, never break an aggregate's invariants, and never leave a gap in sequence numbers.

mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use common::*;
use consentry_domain::consent::{
    Consent, ConsentCommand, ConsentEvent, ConsentServices, ExpiryCause, RevokedBy, MAX_FREQUENCY_PER_DAY,
};
use consentry_domain::payment::{Payment, PaymentCommand, PaymentEvent, PaymentService, TransactionStatus};
use consentry_domain::{Clock, ConsentId};
use cqrs_es::mem_store::MemStore;
use cqrs_es::{Aggregate, CqrsFramework, EventStore};
use proptest::prelude::*;

/// A clock the sequence itself moves forward, so expiry by the clock and day rollover are exercised.
struct SteppingClock(std::sync::Mutex<DateTime<Utc>>);

impl Clock for SteppingClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

#[derive(Debug, Clone)]
enum ConsentStep {
    Command(ConsentCommand),
    AdvanceDays(i64),
}

fn consent_step() -> impl Strategy<Value = ConsentStep> {
    prop_oneof![
        1 => Just(ConsentStep::Command(consent_command("Request"))),
        1 => Just(ConsentStep::Command(consent_command("RecordBankConsent"))),
        1 => Just(ConsentStep::Command(consent_command("Authorise"))),
        1 => Just(ConsentStep::Command(consent_command("Reject"))),
        1 => Just(ConsentStep::Command(ConsentCommand::Expire { cause: ExpiryCause::ValidUntilPassed })),
        1 => Just(ConsentStep::Command(ConsentCommand::Expire { cause: ExpiryCause::BankReportedExpired })),
        1 => Just(ConsentStep::Command(ConsentCommand::Revoke { by: RevokedBy::Psu })),
        1 => Just(ConsentStep::Command(ConsentCommand::Revoke { by: RevokedBy::Tpp })),
        1 => Just(ConsentStep::Command(ConsentCommand::LinkRenewal { renewed_by: ConsentId::new() })),
        3 => prop::sample::select(vec!["accounts", "balances", "transactions"])
            .prop_map(|r| ConsentStep::Command(ConsentCommand::CountUnattendedAccess { resources: vec![r.into()] })),
        1 => prop::sample::select(vec![0i64, 1, 30]).prop_map(ConsentStep::AdvanceDays),
    ]
}

fn payment_step() -> impl Strategy<Value = PaymentCommand> {
    let status = prop::sample::select(TransactionStatus::ALL.to_vec());
    prop_oneof![
        1 => Just(payment_command("RequestInitiation")),
        1 => Just(PaymentCommand::StartInitiationAttempt),
        1 => status.clone().prop_map(|s| PaymentCommand::RecordBankPayment(bank_payment(s))),
        1 => Just(payment_command("RecordInitiationRejected")),
        1 => Just(payment_command("RecordUnknownOutcome")),
        1 => status.clone().prop_map(|s| PaymentCommand::ReconcileOutcome { found: Some(bank_payment(s)) }),
        1 => Just(PaymentCommand::ReconcileOutcome { found: None }),
        3 => status.prop_map(PaymentCommand::ObserveStatus),
        1 => Just(PaymentCommand::RequestCancellation),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime")
}

/// Sequence numbers of the stored events are exactly 1..=n.
async fn assert_gapless<A: Aggregate>(store: &MemStore<A>, id: &str) -> Vec<A::Event> {
    let events = store.load_events(id).await.expect("load");
    let sequences: Vec<usize> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=events.len()).collect::<Vec<_>>());
    events.into_iter().map(|e| e.payload).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn consent_sequences_keep_their_invariants(steps in prop::collection::vec(consent_step(), 1..40)) {
        runtime().block_on(async {
            let start = today().and_hms_opt(10, 0, 0).expect("time").and_utc();
            let clock = Arc::new(SteppingClock(std::sync::Mutex::new(start)));
            let store = MemStore::<Consent>::default();
            let cqrs = CqrsFramework::new(store.clone(), vec![], ConsentServices { clock: clock.clone() });
            let mut previous = Consent::default();
            for step in steps {
                match step {
                    ConsentStep::AdvanceDays(days) => *clock.0.lock().expect("clock lock") += Duration::days(days),
                    ConsentStep::Command(command) => {
                        let result = cqrs.execute("consent", command).await;
                        let events = assert_gapless(&store, "consent").await;
                        let mut current = Consent::default();
                        for event in events.clone() {
                            current.apply(event);
                        }
                        if let Some(status) = previous.status().filter(|s| s.is_final()) {
                            assert!(result.is_err(), "a command on a final consent succeeded");
                            assert_eq!(current.status(), Some(status), "a final state was left");
                        }
                        if let Some(state) = &current.state {
                            let authorised = events.contains(&ConsentEvent::ConsentAuthorised);
                            let recorded = events.iter().any(|e| matches!(e, ConsentEvent::BankConsentRecorded { .. }));
                            assert!(!authorised || recorded, "authorised without a bank consent");
                            assert_eq!(state.stage.bank_consent().is_some(), recorded, "the bank consent was lost or made up");
                            assert!(state.accesses.values().all(|n| *n <= state.request.frequency_per_day.min(MAX_FREQUENCY_PER_DAY)));
                        }
                        previous = current;
                    }
                }
            }
        });
    }

    #[test]
    fn payment_sequences_never_send_twice_or_leave_a_final_status(steps in prop::collection::vec(payment_step(), 1..40)) {
        runtime().block_on(async {
            let store = MemStore::<Payment>::default();
            let cqrs = CqrsFramework::new(store.clone(), vec![], ());
            let mut previous = Payment::default();
            for command in steps {
                let result = cqrs.execute("payment", command).await;
                let events = assert_gapless(&store, "payment").await;
                let mut current = Payment::default();
                for event in events.clone() {
                    current.apply(event);
                }
                if let Some(status) = previous.status().filter(|s| s.is_final()) {
                    assert_eq!(current.status(), Some(status), "a final status was left ({result:?})");
                }
                if let (Some(before), Some(after)) = (previous.status(), current.status()) {
                    assert!(before == after || before.may_move_to(after), "{before} moved back to {after}");
                }
                previous = current;
                // An attempt may only follow the intent, or a reconciliation that found nothing at the bank.
                let mut may_send = false;
                for event in &events {
                    match event {
                        PaymentEvent::PaymentInitiationRequested(_) => may_send = true,
                        PaymentEvent::InitiationOutcomeReconciled { found: None } => may_send = true,
                        PaymentEvent::InitiationAttemptStarted { .. } => {
                            assert!(may_send, "an initiation was sent again without reconciling: {events:?}");
                            may_send = false;
                        }
                        PaymentEvent::PaymentStatusObserved { status: TransactionStatus::Part } => {
                            assert!(matches!(previous.state.as_ref().map(|s| s.request.service), Some(PaymentService::BulkPayments)));
                        }
                        _ => {}
                    }
                }
            }
        });
    }
}
