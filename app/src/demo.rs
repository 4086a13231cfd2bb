//! `consentry demo`: the story of Consentry told on the embedded SQLite store with a simulated clock. Each step
//! prints what happened and the events it stored.

use std::fmt::Display;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use consentry_adapters::SimulatedClock;
use consentry_domain::consent::{ConsentAccess, ConsentCommand, ExpiryCause, RevokedBy};
use consentry_domain::payment::{BankPayment, PaymentCommand, PaymentProduct, PaymentService, TransactionStatus};
use consentry_domain::sca::{ScaApproach, ScaLinks};
use consentry_domain::{Clock, ConsentId, PaymentId, TenantId, UserId};
use serde::Serialize;

use crate::{ConsentInput, Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};

/// Prints each event of an aggregate once, as the story goes on.
#[derive(Default)]
struct Printed {
    seen: std::collections::HashMap<String, usize>,
}

impl Printed {
    fn show<E: Serialize + cqrs_es::DomainEvent>(
        &mut self,
        label: &str,
        id: impl Display,
        events: &[RecordedEvent<E>],
    ) {
        let seen = self.seen.entry(id.to_string()).or_default();
        for recorded in &events[*seen..] {
            let payload = serde_json::to_value(&recorded.event)
                .ok()
                .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
                .filter(|v| !v.is_null())
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            println!(
                "      {label} #{} {}{payload}  [{} by {}]",
                recorded.sequence,
                recorded.event.event_type(),
                recorded.metadata.occurred_at.format("%Y-%m-%d %H:%M"),
                recorded.metadata.actor,
            );
        }
        *seen = events.len();
    }
}

fn step(clock: &SimulatedClock, title: &str) {
    println!("\n[{}] {title}", clock.now().format("%Y-%m-%d %H:%M"));
}

pub async fn run(database_url: Option<&str>) -> Result<(), EngineError> {
    let start: DateTime<Utc> = DateTime::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .unwrap_or_default(),
        Utc,
    );
    let clock = Arc::new(SimulatedClock::starting_at(start));
    let engine = Engine::open(database_url, clock.clone()).await?;
    println!(
        "Consentry demo on {} with a simulated clock starting {start}",
        engine.database().kind()
    );
    let mut printed = Printed::default();

    let tenant = TenantId::new();
    let user = UserId::new();
    let as_user = RequestContext::user(tenant, user);
    let as_system = RequestContext::system(tenant, Some(user));

    step(&clock, "The user asks to connect Swedbank and SEB: one consent per bank for 90 days (through day 89), 4 unattended reads a day");
    let valid_until = clock.today() + Duration::days(89);
    let mut consents: Vec<(&str, ConsentId)> = Vec::new();
    for bank in ["swedbank", "seb"] {
        let id = engine
            .request_consent(
                &as_user,
                ConsentInput {
                    bank: bank.into(),
                    access: ConsentAccess::AllPsd2,
                    recurring_indicator: true,
                    valid_until,
                    frequency_per_day: 4,
                    renewal_of: None,
                },
            )
            .await?;
        printed.show(bank, id, &engine.consent_history(id).await?);
        consents.push((bank, id));
    }

    step(&clock, "Each bank answers with its consent id and an SCA redirect link");
    for (bank, id) in &consents {
        let sca = ScaLinks {
            approach: Some(ScaApproach::Redirect),
            redirect_url: Some(format!("https://sandbox.consentry.invalid/{bank}/sca/{id}")),
            ..ScaLinks::default()
        };
        let command = ConsentCommand::RecordBankConsent {
            bank_consent_id: format!("{bank}-{}", &id.to_string()[..8]),
            sca,
        };
        engine.execute_consent(&as_system, *id, command).await?;
        printed.show(bank, id, &engine.consent_history(*id).await?);
    }

    clock.advance(Duration::minutes(3));
    step(
        &clock,
        "The user approves both at the banks; Consentry reads the status back: valid",
    );
    for (bank, id) in &consents {
        engine
            .execute_consent(&as_system, *id, ConsentCommand::Authorise)
            .await?;
        printed.show(bank, id, &engine.consent_history(*id).await?);
    }

    clock.advance(Duration::hours(2));
    let (swedbank, swedbank_id) = consents[0];
    step(
        &clock,
        "A scheduled sync reads Swedbank's account list without the user: 4 reads a day at most",
    );
    let as_job = RequestContext::job(tenant, Some(user));
    for _ in 0..5 {
        let command = ConsentCommand::CountUnattendedAccess {
            resource: "accounts".into(),
        };
        if let Err(refused) = engine.execute_consent(&as_job, swedbank_id, command).await {
            println!("      5th read refused before reaching the bank: {refused}");
        }
    }
    printed.show(swedbank, swedbank_id, &engine.consent_history(swedbank_id).await?);

    step(
        &clock,
        "The user pays 42.50 EUR to Ignitis; the intent and its idempotency key are stored first",
    );
    let payment = engine
        .request_payment(
            &as_user,
            PaymentInput {
                bank: "swedbank".into(),
                service: PaymentService::Payments,
                product: PaymentProduct::SepaCreditTransfers,
                debtor_iban: "LT12 1000 0111 0100 1000".into(),
                creditor_iban: "LT73 7300 0100 0000 0003".into(),
                creditor_name: "Ignitis UAB".into(),
                amount: "42.50".into(),
                currency: "EUR".into(),
                remittance_information: Some("Electricity, December".into()),
            },
        )
        .await?;
    show_payment(&engine, &mut printed, payment).await?;

    step(&clock, "Consentry sends it: the bank answers RCVD");
    engine
        .execute_payment(&as_system, payment, PaymentCommand::StartInitiationAttempt)
        .await?;
    let bank_payment = BankPayment {
        bank_payment_id: format!("swedbank-pmt-{}", &payment.to_string()[..8]),
        status: TransactionStatus::Rcvd,
        sca: ScaLinks::default(),
    };
    engine
        .execute_payment(&as_system, payment, PaymentCommand::RecordBankPayment(bank_payment))
        .await?;
    show_payment(&engine, &mut printed, payment).await?;

    for (minutes, status) in [(1, TransactionStatus::Actc), (4, TransactionStatus::Acsc)] {
        clock.advance(Duration::minutes(minutes));
        step(&clock, &format!("Status poll: the bank reports {status}"));
        let as_poller = RequestContext::job(tenant, Some(user));
        engine
            .execute_payment(&as_poller, payment, PaymentCommand::ObserveStatus(status))
            .await?;
        engine
            .execute_payment(&as_poller, payment, PaymentCommand::ObserveStatus(status))
            .await?;
        show_payment(&engine, &mut printed, payment).await?;
    }
    println!("      (each status was polled twice; the repeat stored nothing)");

    clock.advance(Duration::days(30));
    let (seb, seb_id) = consents[1];
    step(&clock, "Day 30: the user revokes SEB's access");
    engine
        .execute_consent(&as_user, seb_id, ConsentCommand::Revoke { by: RevokedBy::Psu })
        .await?;
    printed.show(seb, seb_id, &engine.consent_history(seb_id).await?);

    clock.set(start + Duration::days(89));
    step(&clock, "Day 89: Swedbank's consent is still valid through its last day");
    let early = engine
        .execute_consent(
            &as_job,
            swedbank_id,
            ConsentCommand::Expire {
                cause: ExpiryCause::ValidUntilPassed,
            },
        )
        .await;
    if let Err(refused) = early {
        println!("      expiry check: {refused}");
    }

    clock.advance(Duration::days(1));
    step(
        &clock,
        "Day 90: validUntil has passed; the daily job expires the consent",
    );
    engine
        .execute_consent(
            &as_job,
            swedbank_id,
            ConsentCommand::Expire {
                cause: ExpiryCause::ValidUntilPassed,
            },
        )
        .await?;
    printed.show(swedbank, swedbank_id, &engine.consent_history(swedbank_id).await?);

    step(
        &clock,
        "Final states absorb: authorising the expired consent again is refused",
    );
    if let Err(refused) = engine
        .execute_consent(&as_user, swedbank_id, ConsentCommand::Authorise)
        .await
    {
        println!("      {refused}");
    }

    println!("\nSummary:");
    for (bank, id) in &consents {
        let status = engine
            .consent(*id)
            .await?
            .status()
            .map(|s| s.to_string())
            .unwrap_or_default();
        println!("  consent {id} at {bank}: {status}");
    }
    let status = engine
        .payment(payment)
        .await?
        .status()
        .map(|s| s.to_string())
        .unwrap_or_default();
    println!("  payment {payment}: {status}");
    engine.database().close().await;
    Ok(())
}

async fn show_payment(engine: &Engine, printed: &mut Printed, id: PaymentId) -> Result<(), EngineError> {
    printed.show("payment", id, &engine.payment_history(id).await?);
    Ok(())
}
