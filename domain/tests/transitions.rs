//! One given/when/then test per (state, command) pair of each aggregate, checked against the transition tables
//! of docs/events.md: a listed pair must produce its event and reach its state, any other pair must be refused
//! with no event. The doc and the aggregates cannot drift apart without a test failing.

mod common;

use common::*;
use consentry_domain::consent::{Consent, ConsentError};
use consentry_domain::payment::{Payment, PaymentCommand, PaymentError, PaymentService, TransactionStatus};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};

const EVENTS_MD: &str = include_str!("../../docs/events.md");

/// The rows of the markdown table that follows `heading`, without its header and separator rows.
fn table(heading: &str) -> Vec<Vec<String>> {
    let start = EVENTS_MD
        .find(heading)
        .unwrap_or_else(|| panic!("docs/events.md has no {heading:?}"));
    EVENTS_MD[start..]
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            line.trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect()
        })
        .collect()
}

/// `(to, event)` if docs/events.md allows `command` in `from`.
fn allowed(heading: &str, from: &str, command: &str) -> Option<(String, String)> {
    table(heading)
        .into_iter()
        .skip(2)
        .find(|row| row[0] == from && row[1] == command)
        .map(|row| (row[2].clone(), row[3].clone()))
}

fn fold<A: Aggregate>(events: Vec<A::Event>) -> A {
    let mut aggregate = A::default();
    for event in events {
        aggregate.apply(event);
    }
    aggregate
}

async fn check_consent(from: &str, command: &str) {
    let given = consent_history(from);
    let result = TestFramework::<Consent>::with(consent_services())
        .given(given.clone())
        .when_async(consent_command(command))
        .await
        .inspect_result();
    match (allowed("### Consent: allowed transitions", from, command), result) {
        (Some((to, event)), Ok(events)) => {
            assert_eq!(events.iter().map(|e| e.event_type()).collect::<Vec<_>>(), vec![event]);
            let after = fold::<Consent>(given.into_iter().chain(events).collect());
            assert_eq!(consent_state(&after), to, "{from} --{command}-->");
        }
        (Some(_), Err(error)) => panic!("{from} --{command}--> is allowed by docs/events.md but failed: {error}"),
        (None, Ok(events)) => panic!("{from} --{command}--> is not in docs/events.md but produced {events:?}"),
        (None, Err(error)) => {
            if consent_history(from).is_empty() {
                assert_eq!(error, ConsentError::NotRequested);
            } else if let Some(status) = fold::<Consent>(consent_history(from)).status().filter(|s| s.is_final()) {
                assert_eq!(error, ConsentError::Final(status));
                assert!(error.to_string().contains("a final state"));
            }
        }
    }
}

async fn check_payment(from: &str, command: &str) {
    let given = payment_history(from, PaymentService::Payments);
    let result = TestFramework::<Payment>::with(())
        .given(given.clone())
        .when_async(payment_command(command))
        .await
        .inspect_result();
    match (allowed("### Payment: allowed transitions", from, command), result) {
        (Some((to, event)), Ok(events)) => {
            assert_eq!(events.iter().map(|e| e.event_type()).collect::<Vec<_>>(), vec![event]);
            let after = fold::<Payment>(given.into_iter().chain(events).collect());
            assert_eq!(payment_state(&after), to, "{from} --{command}-->");
        }
        (Some(_), Err(error)) => panic!("{from} --{command}--> is allowed by docs/events.md but failed: {error}"),
        (None, Ok(events)) => panic!("{from} --{command}--> is not in docs/events.md but produced {events:?}"),
        (None, Err(error)) => {
            if let Some(status) = fold::<Payment>(given).status().filter(|s| s.is_final()) {
                assert_eq!(error, PaymentError::Final(status));
            }
        }
    }
}

/// Observing status `to` on a bulk payment (so PART is reachable) in status `from`, per the status grid.
async fn check_observed(from: &str, to: &str) {
    let grid = table("### Payment: observed status grid");
    let column = grid[0]
        .iter()
        .position(|c| c == to)
        .unwrap_or_else(|| panic!("grid has no column {to}"));
    let row = grid
        .iter()
        .find(|row| row[0] == from)
        .unwrap_or_else(|| panic!("grid has no row {from}"));
    let target = TransactionStatus::parse(to).expect("grid names statuses");
    let result = TestFramework::<Payment>::with(())
        .given(payment_history(from, PaymentService::BulkPayments))
        .when_async(PaymentCommand::ObserveStatus(target))
        .await
        .inspect_result();
    match (row[column].as_str(), result) {
        ("✓", Ok(events)) => assert_eq!(
            events,
            vec![consentry_domain::payment::PaymentEvent::PaymentStatusObserved { status: target }]
        ),
        ("=", Ok(events)) => assert!(events.is_empty(), "{from} observed again stored {events:?}"),
        ("✗", Err(_)) => {}
        (cell, result) => panic!("{from} observed {to}: docs/events.md says {cell:?}, the aggregate gave {result:?}"),
    }
}

macro_rules! pairs_for_state {
    ($check:ident, $state:ident, $state_name:literal, [$($command:ident $command_name:literal),*]) => {
        mod $state {
            $(
                #[tokio::test]
                async fn $command() {
                    super::$check($state_name, $command_name).await;
                }
            )*
        }
    };
}

macro_rules! every_pair {
    ($module:ident, $check:ident, states [$($state:ident $state_name:literal),*], commands $commands:tt) => {
        mod $module {
            use super::$check;
            $( pairs_for_state!($check, $state, $state_name, $commands); )*
        }
    };
}

every_pair!(consent, check_consent,
    states [none "none", requested "requested", awaiting_authorisation "awaitingAuthorisation", valid "valid",
            rejected "rejected",
            expired "expired", revoked_by_psu "revokedByPsu", terminated_by_tpp "terminatedByTpp"],
    commands [request "Request", record_bank_consent "RecordBankConsent", authorise "Authorise", reject "Reject",
              expire "Expire", revoke_psu "Revoke(Psu)", revoke_tpp "Revoke(Tpp)", link_renewal "LinkRenewal",
              count_unattended_access "CountUnattendedAccess", wait_for_bank "WaitForBank"]);

every_pair!(payment, check_payment,
    states [none "none", ready "ready", sending "sending", unknown "unknown", rcvd "RCVD", acsc "ACSC",
            accc "ACCC", rjct "RJCT", canc "CANC"],
    commands [request_initiation "RequestInitiation", start_initiation_attempt "StartInitiationAttempt",
              record_bank_payment "RecordBankPayment", record_initiation_rejected "RecordInitiationRejected",
              record_unknown_outcome "RecordUnknownOutcome", record_not_sent "RecordNotSent", reconcile_found "ReconcileOutcome(found)",
              reconcile_not_found "ReconcileOutcome(notFound)", observe_status "ObserveStatus(ACTC)",
              request_cancellation "RequestCancellation", stop_polling "StopPolling",
              record_authorisation "RecordAuthorisation", record_found_in_account "RecordFoundInAccount",
              observe_sca_status "ObserveScaStatus"]);

every_pair!(observed_status, check_observed,
    states [rcvd "RCVD", pdng "PDNG", patc "PATC", actc "ACTC", accp "ACCP", acfc "ACFC", acwc "ACWC",
            acwp "ACWP", acsp "ACSP", part "PART", acsc "ACSC", accc "ACCC", rjct "RJCT", canc "CANC"],
    commands [to_rcvd "RCVD", to_pdng "PDNG", to_patc "PATC", to_actc "ACTC", to_accp "ACCP", to_acfc "ACFC",
              to_acwc "ACWC", to_acwp "ACWP", to_acsp "ACSP", to_part "PART", to_acsc "ACSC", to_accc "ACCC",
              to_rjct "RJCT", to_canc "CANC"]);

/// Every state and command the doc's tables name is one the tests above cover, and the other way round.
#[test]
fn the_tables_name_exactly_the_tested_states_and_commands() {
    for row in table("### Consent: allowed transitions").iter().skip(2) {
        consent_history(&row[0]);
        consent_command(&row[1]);
        consent_history(&row[2]);
    }
    for row in table("### Payment: allowed transitions").iter().skip(2) {
        payment_history(&row[0], PaymentService::Payments);
        payment_command(&row[1]);
        payment_history(&row[2], PaymentService::Payments);
    }
    let grid = table("### Payment: observed status grid");
    let codes: Vec<&str> = TransactionStatus::ALL.iter().map(|s| s.code()).collect();
    assert_eq!(grid[0][1..], codes);
    assert_eq!(
        grid.iter().skip(2).map(|row| row[0].as_str()).collect::<Vec<_>>(),
        codes
    );
}
