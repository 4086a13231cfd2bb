//! `consentry demo`: the story of Consentry told on the embedded SQLite store, the in-process sandbox bank and a
//! simulated clock. Each step prints what happened and the events it stored.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_adapters::config::sandbox_banks;
use consentry_adapters::ecb::SnapshotRates;
use consentry_adapters::sandbox::{Sandbox, SandboxConfig};
use consentry_adapters::SimulatedClock;
use consentry_domain::bank::PsuContext;
use consentry_domain::consent::{ConsentAccess, ConsentCommand, ExpiryCause};
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::rates::RatesPort;
use consentry_domain::{Clock, ConsentId, Currency, PaymentId, TenantId, UserId};
use cqrs_es::DomainEvent;
use serde::Serialize;

use crate::aggregation::BalancePreference;
use crate::bank_flows::ConnectRequest;
use crate::banks::Banks;
use crate::http::HttpServer;
use crate::{Engine, EngineError, PaymentInput, RecordedEvent, RequestContext};

/// The user's device, as the bank sees it.
const PSU_IP: &str = "192.0.2.10";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Setup(String),
    #[error("the user's browser: {0}")]
    Browser(String),
}

fn setup(error: impl Display) -> DemoError {
    DemoError::Setup(error.to_string())
}

/// Prints each event of an aggregate once, as the story goes on.
#[derive(Default)]
struct Printed {
    seen: HashMap<String, usize>,
}

impl Printed {
    fn show<E: Serialize + DomainEvent>(&mut self, label: &str, id: impl Display, events: &[RecordedEvent<E>]) {
        let seen = self.seen.entry(id.to_string()).or_default();
        for recorded in events.iter().skip(*seen) {
            let payload = serde_json::to_value(&recorded.event)
                .ok()
                .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
                .filter(|v| !v.is_null())
                .map(|v| format!(" {}", abbreviate(&v.to_string())))
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

fn abbreviate(text: &str) -> String {
    const MAX: usize = 150;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

fn step(clock: &SimulatedClock, title: &str) {
    println!("\n[{}] {title}", clock.now().format("%Y-%m-%d %H:%M"));
}

/// What the user's browser does on the bank's SCA page: open it, press Approve, follow the redirect back to
/// Consentry's callback. Returns where it ended and the HTTP status there.
async fn approve_in_browser(browser: &reqwest::Client, sca_page: &str) -> Result<(String, u16), DemoError> {
    let failed = |e: reqwest::Error| DemoError::Browser(e.to_string());
    let page = browser
        .get(sca_page)
        .send()
        .await
        .map_err(failed)?
        .text()
        .await
        .map_err(failed)?;
    if !page.contains("value=\"approve\"") {
        return Err(DemoError::Browser("the SCA page shows no Approve button".into()));
    }
    let landed = browser
        .post(sca_page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .map_err(failed)?;
    Ok((landed.url().to_string(), landed.status().as_u16()))
}

pub async fn run(database_url: Option<&str>) -> Result<(), DemoError> {
    let start: DateTime<Utc> = NaiveDate::from_ymd_opt(2026, 1, 5)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| setup("bad start date"))?;
    let clock = Arc::new(SimulatedClock::starting_at(start));
    let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
    // The user approves on the bank's page, so the sandbox does not approve on its own.
    let sandbox_config = SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start_with_clock(sandbox_config, clock.clone(), loopback)
        .await
        .map_err(setup)?;
    let banks = Banks::from_config(&sandbox_banks(&sandbox.base_url()).map_err(setup)?).map_err(setup)?;
    let engine = Arc::new(Engine::open(database_url, clock.clone()).await?.with_banks(banks));
    let rates: Arc<dyn RatesPort> = Arc::new(SnapshotRates::load().map_err(setup)?);
    let server = HttpServer::start(engine.clone(), rates.clone(), loopback, None)
        .await
        .map_err(setup)?;
    let browser = reqwest::Client::new();
    println!(
        "Consentry demo on {}, the sandbox bank at {} and a simulated clock starting {start}",
        engine.database().kind(),
        sandbox.base_url()
    );
    let mut printed = Printed::default();
    let tenant = TenantId::new();
    let user = UserId::new();
    let as_user = RequestContext::user(tenant, user);

    step(
        &clock,
        "The user connects Swedbank and SEB: one consent per bank for 90 days, 4 unattended reads a day",
    );
    let valid_until = clock.today() + Duration::days(89);
    let mut consents: Vec<(&str, ConsentId, String)> = Vec::new();
    for bank in ["swedbank", "seb", "luminor", "revolut"] {
        let started = engine
            .connect_bank(
                &as_user,
                ConnectRequest {
                    bank: bank.into(),
                    psu_ip_address: PSU_IP.into(),
                    psu_id: None,
                    access: ConsentAccess::AllPsd2,
                    valid_until,
                    frequency_per_day: 4,
                    callback_url: server.callback_url(),
                    approach: None,
                    renewal_of: None,
                },
            )
            .await?;
        let link = started
            .sca_redirect
            .ok_or_else(|| setup("the sandbox gave no SCA redirect link"))?;
        println!("    {bank}: send the user to {link}");
        printed.show(bank, started.consent, &engine.consent_history(started.consent).await?);
        consents.push((bank, started.consent, link));
    }

    clock.advance(Duration::minutes(3));
    step(&clock, "The user approves at each bank; the bank redirects to Consentry's callback, which verifies the state and reads the status back");
    let mut callbacks = Vec::new();
    for (bank, id, link) in &consents {
        let (landed, status) = approve_in_browser(&browser, link).await?;
        let path = landed.split('?').next().unwrap_or_default();
        println!("    {bank}: browser landed on {path} (HTTP {status})");
        printed.show(bank, id, &engine.consent_history(*id).await?);
        callbacks.push(landed);
    }
    let replayed = browser
        .get(&callbacks[0])
        .send()
        .await
        .map_err(|e| DemoError::Browser(e.to_string()))?;
    println!(
        "    the same callback replayed is refused: HTTP {}",
        replayed.status().as_u16()
    );
    let forged = browser
        .get(format!("{}?state=forged-state", server.callback_url()))
        .send()
        .await
        .map_err(|e| DemoError::Browser(e.to_string()))?;
    println!("    a forged callback is refused: HTTP {}", forged.status().as_u16());

    engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
    step(
        &clock,
        "Accounts and balances from all four banks at once, with the user present; total in EUR",
    );
    show_balances(&engine, &as_user, user, rates.as_ref()).await?;

    step(
        &clock,
        "Luminor's API fails part-way: the others' data arrives, and Luminor is reported",
    );
    let faults = format!("{}/admin/faults", sandbox.bank_url("luminor"));
    let failing = serde_json::json!({ "error_rate": 1.0 });
    browser
        .put(&faults)
        .json(&failing)
        .send()
        .await
        .map_err(|e| DemoError::Browser(e.to_string()))?;
    show_balances(&engine, &as_user, user, rates.as_ref()).await?;
    browser
        .put(&faults)
        .json(&serde_json::json!({}))
        .send()
        .await
        .map_err(|e| DemoError::Browser(e.to_string()))?;

    step(
        &clock,
        "Transactions from all four banks at once (about six months), merged and categorised",
    );
    let refreshed = engine
        .refresh_user(&as_user, user, &PsuContext::present(PSU_IP))
        .await?;
    for report in &refreshed.synced {
        println!(
            "    {:<9} {} accounts, {} booked transactions, {} pending",
            report.bank.as_str(),
            report.accounts,
            report.new_booked,
            report.pending
        );
    }
    for failure in &refreshed.failures {
        println!("    {:<9} FAILED: {}", failure.bank.as_str(), failure.reason);
    }
    engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
    let today = clock.today();
    let recent = engine
        .transactions(tenant, user, today - Duration::days(3), today)
        .await?;
    println!("    the latest, newest first across banks:");
    for transaction in recent.iter().take(6) {
        let date = transaction
            .booking_date
            .or(transaction.value_date)
            .map(|d| d.to_string())
            .unwrap_or_default();
        println!(
            "      {date} {:<9} {:>12} {:<8} {:<14} {}",
            transaction.bank,
            transaction.amount.to_string(),
            transaction.status,
            transaction.category,
            abbreviate(&transaction.description)
        );
    }
    for month in ["2025-11", "2025-12"] {
        println!("    spending in {month} (booked, EUR accounts; income apart):");
        for line in engine.spending(tenant, user, month).await? {
            if line.total.currency() == Currency::EUR {
                println!(
                    "      {:<8} {:<16} {:>10} in {} transactions",
                    line.flow,
                    line.category,
                    line.total.amount().to_string(),
                    line.count
                );
            }
        }
    }

    clock.advance(Duration::hours(2));
    let (swedbank, swedbank_id, _) = consents[0].clone();
    let swedbank_state = engine
        .consent(swedbank_id)
        .await?
        .state
        .ok_or_else(|| setup("no consent"))?;
    let swedbank_consent = swedbank_state
        .stage
        .bank_consent()
        .map(|b| b.id.clone())
        .ok_or_else(|| setup("no bank consent"))?;
    step(&clock, "A scheduled job reads Swedbank's account list without the user: 4 reads a day at most, counted before each call");
    let as_job = RequestContext::job(tenant, Some(user));
    let swedbank_port = engine.bank(&swedbank_state.request.bank)?.port.clone();
    for read in 1..=5 {
        let command = ConsentCommand::CountUnattendedAccess {
            resources: vec!["accounts".into()],
        };
        match engine.execute_consent(&as_job, swedbank_id, command).await {
            Ok(()) => {
                let accounts = swedbank_port.accounts(&swedbank_consent, &PsuContext::absent()).await;
                let summary = accounts
                    .map(|a| a.iter().map(|a| a.currency.to_string()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_else(|e| format!("failed: {e}"));
                println!("    read {read}: accounts in {summary}");
            }
            Err(refused) => println!("    read {read} refused before reaching the bank: {refused}"),
        }
    }
    printed.show(swedbank, swedbank_id, &engine.consent_history(swedbank_id).await?);

    step(
        &clock,
        "The user pays 42.50 EUR to Ignitis; the intent and its idempotency key are stored before the bank is called",
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
    let as_system = RequestContext::system(tenant, Some(user));
    engine.send_payment(&as_system, payment, PSU_IP, None).await?;
    show_payment(&engine, &mut printed, payment).await?;
    let sca = engine.payment(payment).await?.state.and_then(|s| s.sca.redirect_url);
    if let Some(link) = sca {
        let (_, status) = approve_in_browser(&browser, &link).await?;
        println!("    the user approves the payment at the bank (HTTP {status})");
    }

    for seconds in [2, 4] {
        clock.advance(Duration::seconds(seconds));
        step(&clock, "Status poll");
        let as_poller = RequestContext::job(tenant, Some(user));
        engine.poll_payment_status(&as_poller, payment).await?;
        engine.poll_payment_status(&as_poller, payment).await?;
        show_payment(&engine, &mut printed, payment).await?;
    }
    println!("    (each poll ran twice; a status seen again stored nothing)");

    clock.advance(Duration::days(30));
    let (seb, seb_id, _) = consents[1].clone();
    step(
        &clock,
        "Day 30: the user revokes SEB's access in the bank's app; Consentry reads the status back",
    );
    let seb_consent = engine
        .consent(seb_id)
        .await?
        .state
        .and_then(|s| s.stage.bank_consent().map(|b| b.id.clone()))
        .ok_or_else(|| setup("no bank consent"))?;
    let revoke = format!("{}/admin/consents/{seb_consent}/revoke", sandbox.bank_url("seb"));
    browser
        .post(revoke)
        .send()
        .await
        .map_err(|e| DemoError::Browser(e.to_string()))?;
    engine.refresh_consent_status(&as_job, seb_id).await?;
    printed.show(seb, seb_id, &engine.consent_history(seb_id).await?);

    clock.set(start + Duration::days(89));
    step(&clock, "Day 89: the valid consents stay valid through their last day");
    engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
    let run = engine.expire_lapsed_consents().await?;
    println!(
        "    the daily expiry job finds nothing lapsed: {} expired",
        run.expired.len()
    );
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
        println!("    and the aggregate refuses an early expiry itself: {refused}");
    }

    clock.advance(Duration::days(1));
    step(
        &clock,
        "Day 90: validUntil has passed; the daily expiry job expires every consent still valid",
    );
    let run = engine.expire_lapsed_consents().await?;
    for (bank, id, _) in &consents {
        if run.expired.contains(id) {
            println!("    expired: {bank} consent {id}");
        }
    }
    printed.show(swedbank, swedbank_id, &engine.consent_history(swedbank_id).await?);

    step(
        &clock,
        "Final states absorb: authorising the expired consent again is refused",
    );
    if let Err(refused) = engine
        .execute_consent(&as_user, swedbank_id, ConsentCommand::Authorise)
        .await
    {
        println!("    {refused}");
    }

    engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
    println!("\nSummary, from the read models (days left by the simulated clock):");
    for consent in engine.consents(tenant, user).await? {
        let text = |value: Option<String>| value.unwrap_or_default();
        println!(
            "  consent {} at {}: {}, valid until {}, {} days left",
            consent.consent,
            consent.bank,
            text(consent.status),
            text(consent.valid_until.map(|d| d.to_string())),
            text(consent.days_left.map(|d| d.to_string())),
        );
    }
    for order in engine.payments(tenant, user).await? {
        let history: Vec<&str> = order.history.iter().map(|c| c.status.as_str()).collect();
        println!(
            "  payment {} of {} to {}: {} (statuses {}, attempts {})",
            order.payment,
            order.amount,
            order.creditor_name.as_deref().unwrap_or_default(),
            order.status.as_deref().unwrap_or_default(),
            history.join(" > "),
            order.attempts.unwrap_or_default(),
        );
    }
    server.stop();
    sandbox.shutdown().await;
    engine.database().close().await;
    Ok(())
}

async fn show_balances(
    engine: &Engine,
    ctx: &RequestContext,
    user: UserId,
    rates: &dyn RatesPort,
) -> Result<(), EngineError> {
    let psu = PsuContext::present(PSU_IP);
    let aggregated = engine
        .aggregate_balances(ctx, user, &psu, Currency::EUR, &BalancePreference::default(), rates)
        .await?;
    for account in &aggregated.accounts {
        let iban = account.iban.as_ref().map(|i| i.masked()).unwrap_or_default();
        let balance = account
            .preferred
            .as_ref()
            .map(|b| format!("{:>14} ({})", b.amount.to_string(), b.balance_type.as_str()))
            .unwrap_or_else(|| "no balance".into());
        println!("    {:<9} {iban:<12} {balance}", account.bank.as_str());
    }
    for failure in &aggregated.failures {
        println!("    {:<9} FAILED: {}", failure.bank.as_str(), failure.reason);
    }
    match &aggregated.total {
        Ok(total) => println!(
            "    total {} at the rates of {} ({})",
            total.amount, total.rates_date, total.rates_source
        ),
        Err(reason) => println!("    no total: {reason}"),
    }
    Ok(())
}

async fn show_payment(engine: &Engine, printed: &mut Printed, id: PaymentId) -> Result<(), EngineError> {
    printed.show("payment", id, &engine.payment_history(id).await?);
    Ok(())
}
