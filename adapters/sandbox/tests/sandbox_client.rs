//! The Berlin Group client against the in-process sandbox bank over real HTTP: every endpoint, every typed
//! error, the SCA page, the consent rules (frequencyPerDay, expiry, recurring replacement) and payment status
//! progression.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::BankConfig;
use consentry_domain::bank::{
    BalanceType, BankError, BankPort, BookingStatus, CancellationOutcome, ConsentCreation, PaymentInitiation,
    PaymentResource, PsuContext, RedirectUris, RetryAfter, ScaRequest, TransactionQuery,
};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::payment::{PaymentProduct, PaymentService, TransactionStatus};
use consentry_domain::sca::{ScaApproach, ScaStatus};
use consentry_domain::{Clock, Currency, Iban, Money};
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle, BLOCKED_CREDITOR};
use rust_decimal::Decimal;
use serde_json::Value;

/// A clock the test moves by hand.
struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

async fn start_with_manual_clock(config: SandboxConfig) -> (SandboxHandle, Arc<ManualClock>) {
    start_at(config, Utc::now()).await
}

/// A sandbox on a clock of the test's own, starting at `start`.
async fn start_at(config: SandboxConfig, start: DateTime<Utc>) -> (SandboxHandle, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock(Mutex::new(start)));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    (
        Sandbox::start_with_clock(config, clock.clone(), addr).await.unwrap(),
        clock,
    )
}

fn client(sandbox: &SandboxHandle, bank: &str) -> BerlinGroupClient {
    let mut config = BankConfig::sandbox(bank, bank, &sandbox.base_url()).unwrap();
    config.timeout_ms = 1_500;
    BerlinGroupClient::new(config).unwrap()
}

fn sca(psu: &str) -> ScaRequest {
    ScaRequest {
        psu_ip_address: "192.0.2.1".into(),
        psu_id: Some(psu.into()),
        redirect: Some(RedirectUris {
            ok: "https://tpp.example/ok".into(),
            nok: Some("https://tpp.example/nok".into()),
        }),
        preferred_approach: None,
    }
}

fn consent_request(psu: &str, today: NaiveDate, frequency_per_day: u8) -> ConsentCreation {
    ConsentCreation {
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until: today + Days::new(90),
        frequency_per_day,
        combined_service_indicator: false,
        sca: sca(psu),
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn iban(text: &str) -> Iban {
    Iban::parse(text).unwrap()
}

fn euros(cents: i64) -> Money {
    Money::new(Decimal::new(cents, 2), Currency::EUR).unwrap()
}

fn payment(product: PaymentProduct, creditor: &str, amount: Money) -> PaymentInitiation {
    PaymentInitiation {
        service: PaymentService::Payments,
        product,
        debtor: iban("LT121000011101001000"),
        creditor: iban(creditor),
        creditor_name: "Ignitis".into(),
        instructed_amount: amount,
        remittance_information: Some("Invoice 2026-11".into()),
        end_to_end_id: uuid::Uuid::new_v4().simple().to_string(),
        request_id: uuid::Uuid::new_v4(),
        sca: sca("psu-pay"),
    }
}

fn resource(product: PaymentProduct, payment_id: &str) -> PaymentResource {
    PaymentResource {
        service: PaymentService::Payments,
        product,
        payment_id: payment_id.into(),
    }
}

const CREDITOR: &str = "DE89370400440532013000";

/// A browser without redirects, to see where the SCA page sends the user.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn press(page: &str, decision: &str) -> reqwest::Response {
    browser()
        .post(page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("decision={decision}"))
        .send()
        .await
        .unwrap()
}

async fn admin(sandbox: &SandboxHandle, bank: &str, path: &str) -> Value {
    reqwest::get(format!("{}/admin/{path}", sandbox.bank_url(bank)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn set_faults(sandbox: &SandboxHandle, bank: &str, faults: Value) {
    let answer = reqwest::Client::new()
        .put(format!("{}/admin/faults", sandbox.bank_url(bank)))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200, "{}", answer.text().await.unwrap());
}

#[tokio::test]
async fn consent_lifecycle_with_auto_approval() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let bank = client(&sandbox, "swedbank");
    let created = bank
        .create_consent(&consent_request("psu-1", today(), 4))
        .await
        .unwrap();
    assert_eq!(created.status, ConsentStatus::Valid);
    assert_eq!(created.sca.approach, Some(ScaApproach::Redirect));
    let details = bank.get_consent(&created.consent_id).await.unwrap();
    assert_eq!(details.access, ConsentAccess::AllPsd2);
    assert!(details.recurring_indicator);
    assert_eq!(details.frequency_per_day, 4);
    assert_eq!(details.valid_until, today() + Days::new(90));
    assert_eq!(
        bank.consent_status(&created.consent_id).await.unwrap(),
        ConsentStatus::Valid
    );
    let again = bank.start_consent_authorisation(&created.consent_id).await;
    assert!(matches!(again, Err(BankError::StatusInvalid(_))), "{again:?}");

    bank.delete_consent(&created.consent_id).await.unwrap();
    assert_eq!(
        bank.consent_status(&created.consent_id).await.unwrap(),
        ConsentStatus::TerminatedByTpp
    );
    let read = bank.accounts(&created.consent_id, &PsuContext::absent()).await;
    assert!(matches!(read, Err(BankError::ConsentInvalid(_))), "{read:?}");
    let unknown = bank.consent_status("no-such-consent").await;
    assert!(matches!(unknown, Err(BankError::ConsentUnknown(_))), "{unknown:?}");

    let mut bad = consent_request("psu-1", today(), 4);
    bad.frequency_per_day = 5;
    assert!(matches!(
        bank.create_consent(&bad).await,
        Err(BankError::FormatError(_))
    ));
    let mut past = consent_request("psu-1", today(), 4);
    past.valid_until = today() - Days::new(1);
    assert!(matches!(
        bank.create_consent(&past).await,
        Err(BankError::PeriodInvalid(_))
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_sca_page_approves_and_denies_over_http() {
    let config = SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let bank = client(&sandbox, "seb");

    let created = bank
        .create_consent(&consent_request("psu-2", today(), 4))
        .await
        .unwrap();
    assert_eq!(created.status, ConsentStatus::Received);
    let page = created.sca.redirect_url.clone().expect("scaRedirect link");
    let html = reqwest::get(&page).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("value=\"approve\"") && html.contains("value=\"deny\""),
        "{html}"
    );
    let read = bank.accounts(&created.consent_id, &PsuContext::absent()).await;
    assert!(
        matches!(read, Err(BankError::ConsentInvalid(_))),
        "not usable before SCA: {read:?}"
    );
    let answer = press(&page, "approve").await;
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(answer.headers()["location"], "https://tpp.example/ok");
    assert_eq!(
        bank.consent_status(&created.consent_id).await.unwrap(),
        ConsentStatus::Valid
    );
    assert_eq!(press(&page, "deny").await.status().as_u16(), 409, "a decision is final");

    let denied = bank
        .create_consent(&consent_request("psu-3", today(), 4))
        .await
        .unwrap();
    let authorisation = bank.start_consent_authorisation(&denied.consent_id).await.unwrap();
    assert_eq!(authorisation.sca_status, ScaStatus::Received);
    let status = bank
        .consent_sca_status(&denied.consent_id, &authorisation.authorisation_id)
        .await
        .unwrap();
    assert_eq!(status, ScaStatus::Received);
    let answer = press(authorisation.sca.redirect_url.as_deref().unwrap(), "deny").await;
    assert_eq!(answer.headers()["location"], "https://tpp.example/nok");
    let status = bank
        .consent_sca_status(&denied.consent_id, &authorisation.authorisation_id)
        .await
        .unwrap();
    assert_eq!(status, ScaStatus::Failed);
    assert_eq!(
        bank.consent_status(&denied.consent_id).await.unwrap(),
        ConsentStatus::Rejected
    );
    let unknown = bank.consent_sca_status(&denied.consent_id, "nope").await;
    assert!(matches!(unknown, Err(BankError::ResourceUnknown(_))), "{unknown:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn auto_approval_is_switched_through_the_admin_endpoint() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let bank = client(&sandbox, "swedbank");
    assert_eq!(admin(&sandbox, "swedbank", "auto-approve").await, Value::Bool(true));
    let url = format!("{}/admin/auto-approve", sandbox.bank_url("swedbank"));
    let answer = reqwest::Client::new().put(url).json(&false).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let created = bank
        .create_consent(&consent_request("psu-12", today(), 4))
        .await
        .unwrap();
    assert_eq!(created.status, ConsentStatus::Received);
    assert!(created.sca.redirect_url.is_some());
    let other_bank = client(&sandbox, "seb");
    let created = other_bank
        .create_consent(&consent_request("psu-12", today(), 4))
        .await
        .unwrap();
    assert_eq!(created.status, ConsentStatus::Valid, "the switch is per bank");
    assert!(created.sca.redirect_url.is_none(), "nothing left to approve");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn decoupled_sca_completes_after_the_delay() {
    let config = SandboxConfig {
        auto_approve: false,
        decoupled_delay_ms: 150,
        ..SandboxConfig::default()
    };
    let (sandbox, clock) = start_with_manual_clock(config).await;
    let bank = client(&sandbox, "luminor");
    let mut request = consent_request("psu-4", today(), 4);
    request.sca.preferred_approach = Some(ScaApproach::Decoupled);
    let created = bank.create_consent(&request).await.unwrap();
    assert_eq!(created.sca.approach, Some(ScaApproach::Decoupled));
    assert!(created.sca.redirect_url.is_none());
    let status_url = created.sca.sca_status_url.clone().expect("scaStatus link");
    let authorisation_id = status_url.rsplit('/').next().unwrap();
    assert_eq!(
        bank.consent_sca_status(&created.consent_id, authorisation_id)
            .await
            .unwrap(),
        ScaStatus::Started
    );
    clock.advance(chrono::Duration::milliseconds(200));
    assert_eq!(
        bank.consent_sca_status(&created.consent_id, authorisation_id)
            .await
            .unwrap(),
        ScaStatus::Finalised
    );
    assert_eq!(
        bank.consent_status(&created.consent_id).await.unwrap(),
        ConsentStatus::Valid
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn accounts_balances_and_paged_transactions() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    // Swedbank's profile pages transactions 25 at a time.
    let bank = client(&sandbox, "swedbank");
    let consent = bank
        .create_consent(&consent_request("psu-5", today(), 4))
        .await
        .unwrap()
        .consent_id;
    let psu = PsuContext::present("192.0.2.1");
    let accounts = bank.accounts(&consent, &psu).await.unwrap().entries;
    let currencies: Vec<&str> = accounts.iter().map(|a| a.currency.code()).collect();
    assert_eq!(currencies, ["EUR", "USD", "GBP", "SEK"]);
    assert!(accounts.iter().all(|a| a.iban.is_some()));
    let eur = &accounts[0];

    let balances = bank.balances(&consent, &eur.resource_id, &psu).await.unwrap();
    for kind in [
        BalanceType::ClosingBooked,
        BalanceType::InterimAvailable,
        BalanceType::Expected,
    ] {
        let balance = balances
            .entries
            .iter()
            .find(|b| b.balance_type == kind)
            .expect("balance type present");
        assert_eq!(balance.amount.currency(), Currency::EUR);
    }

    let query = TransactionQuery {
        booking_status: BookingStatus::Both,
        date_from: today() - Days::new(180),
        date_to: Some(today()),
    };
    let report = bank
        .transactions(&consent, &eur.resource_id, &query, &psu)
        .await
        .unwrap();
    assert!(
        report.booked.len() > 100,
        "several pages were followed: {}",
        report.booked.len()
    );
    let mut ids: Vec<_> = report.booked.iter().filter_map(|t| t.transaction_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), report.booked.len(), "no transaction twice across pages");
    assert!(report
        .booked
        .iter()
        .any(|t| t.creditor_name.as_deref() == Some("Maxima") || t.creditor_name.as_deref() == Some("Rimi")));
    assert!(report.booked.iter().any(|t| t.amount.is_positive()), "salary income");
    assert!(report.pending.iter().all(|t| t.booking_date.is_none()));

    let booked_only = TransactionQuery {
        booking_status: BookingStatus::Booked,
        ..query.clone()
    };
    let report = bank
        .transactions(&consent, &eur.resource_id, &booked_only, &psu)
        .await
        .unwrap();
    assert!(report.pending.is_empty());
    let inverted = TransactionQuery {
        date_from: today(),
        date_to: Some(today() - Days::new(3)),
        ..query.clone()
    };
    let error = bank.transactions(&consent, &eur.resource_id, &inverted, &psu).await;
    assert!(matches!(error, Err(BankError::PeriodInvalid(_))), "{error:?}");
    let error = bank.balances(&consent, "no-such-account", &psu).await;
    assert!(matches!(error, Err(BankError::ResourceUnknown(_))), "{error:?}");
    let error = bank.accounts("unknown-consent", &psu).await;
    assert!(matches!(error, Err(BankError::ConsentUnknown(_))), "{error:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn pending_transactions_are_booked_later_under_a_new_id_or_vanish() {
    let start = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
    let (sandbox, clock) = start_at(SandboxConfig::default(), start).await;
    let bank = client(&sandbox, "swedbank");
    let psu = PsuContext::present("192.0.2.1");
    let day = start.date_naive();
    let consent = bank
        .create_consent(&consent_request("psu-13", day, 4))
        .await
        .unwrap()
        .consent_id;
    let account = bank.accounts(&consent, &psu).await.unwrap().entries[0]
        .resource_id
        .clone();
    let query = |today: NaiveDate| TransactionQuery {
        booking_status: BookingStatus::Both,
        date_from: today - Days::new(30),
        date_to: Some(today),
    };
    let before = bank.transactions(&consent, &account, &query(day), &psu).await.unwrap();
    assert!(!before.pending.is_empty(), "the last days are pending");

    clock.advance(chrono::Duration::days(5));
    let after = bank
        .transactions(&consent, &account, &query(day + Days::new(5)), &psu)
        .await
        .unwrap();
    let booked_ids: Vec<_> = after.booked.iter().map(|t| t.transaction_id.clone()).collect();
    for pending in &before.pending {
        assert!(!booked_ids.contains(&pending.transaction_id), "booked under a new id");
        if let Some(booked) = after
            .booked
            .iter()
            .find(|t| t.entry_reference == pending.entry_reference)
        {
            assert_eq!(booked.amount, pending.amount);
            assert_eq!(booked.value_date, pending.value_date);
        }
    }
    let rebooked = before
        .pending
        .iter()
        .filter(|p| after.booked.iter().any(|t| t.entry_reference == p.entry_reference))
        .count();
    assert!(rebooked > 0, "most pending transactions are booked later");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn frequency_per_day_limits_reads_without_the_user() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let bank = client(&sandbox, "seb");
    let consent = bank
        .create_consent(&consent_request("psu-6", today(), 2))
        .await
        .unwrap()
        .consent_id;
    let absent = PsuContext::absent();
    bank.accounts(&consent, &absent).await.unwrap();
    bank.accounts(&consent, &absent).await.unwrap();
    let third = bank.accounts(&consent, &absent).await;
    assert!(matches!(third, Err(BankError::AccessExceeded { .. })), "{third:?}");
    bank.accounts(&consent, &PsuContext::present("192.0.2.1"))
        .await
        .expect("the user present is not limited");
    let account = bank
        .accounts(&consent, &PsuContext::present("192.0.2.1"))
        .await
        .unwrap()
        .entries[0]
        .resource_id
        .clone();
    bank.balances(&consent, &account, &absent)
        .await
        .expect("budgets are per resource");

    let counters = admin(&sandbox, "seb", "counters").await;
    let accounts = counters["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["consentId"] == consent.as_str() && a["resource"] == "accounts")
        .cloned()
        .unwrap();
    assert_eq!(accounts["unattended"], 2);
    assert_eq!(accounts["requests"], 4);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn consents_expire_by_the_clock_and_by_a_newer_recurring_consent() {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let (sandbox, clock) = start_at(SandboxConfig::default(), start).await;
    let bank = client(&sandbox, "swedbank");
    let day = start.date_naive();
    let mut short = consent_request("psu-7", day, 4);
    short.valid_until = day + Days::new(1);
    short.recurring_indicator = false;
    short.frequency_per_day = 1;
    let short = bank.create_consent(&short).await.unwrap().consent_id;
    clock.advance(chrono::Duration::days(3));
    let read = bank.accounts(&short, &PsuContext::absent()).await;
    assert!(matches!(read, Err(BankError::ConsentExpired(_))), "{read:?}");
    assert_eq!(bank.consent_status(&short).await.unwrap(), ConsentStatus::Expired);

    let today = day + Days::new(3);
    let first = bank
        .create_consent(&consent_request("psu-7", today, 4))
        .await
        .unwrap()
        .consent_id;
    let other_psu = bank
        .create_consent(&consent_request("psu-8", today, 4))
        .await
        .unwrap()
        .consent_id;
    let second = bank
        .create_consent(&consent_request("psu-7", today, 4))
        .await
        .unwrap()
        .consent_id;
    assert_eq!(bank.consent_status(&first).await.unwrap(), ConsentStatus::Expired);
    assert_eq!(bank.consent_status(&second).await.unwrap(), ConsentStatus::Valid);
    assert_eq!(bank.consent_status(&other_psu).await.unwrap(), ConsentStatus::Valid);
    let read = bank.accounts(&first, &PsuContext::absent()).await;
    assert!(matches!(read, Err(BankError::ConsentExpired(_))), "{read:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn revocation_by_the_user_at_the_bank_invalidates_the_consent() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let bank = client(&sandbox, "luminor");
    let consent = bank
        .create_consent(&consent_request("psu-9", today(), 4))
        .await
        .unwrap()
        .consent_id;
    let url = format!("{}/admin/consents/{consent}/revoke", sandbox.bank_url("luminor"));
    assert_eq!(
        reqwest::Client::new().post(url).send().await.unwrap().status().as_u16(),
        204
    );
    assert_eq!(
        bank.consent_status(&consent).await.unwrap(),
        ConsentStatus::RevokedByPsu
    );
    assert!(matches!(
        bank.accounts(&consent, &PsuContext::absent()).await,
        Err(BankError::ConsentInvalid(_))
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn payments_progress_get_rejected_and_cancel() {
    let config = SandboxConfig {
        accept_after_ms: 100,
        settle_after_ms: 250,
        funds_limit: 500,
        ..SandboxConfig::default()
    };
    let (sandbox, clock) = start_with_manual_clock(config).await;
    let step = || clock.advance(chrono::Duration::milliseconds(150));
    let bank = client(&sandbox, "swedbank");
    let sepa = PaymentProduct::SepaCreditTransfers;

    let settled = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(4_870)))
        .await
        .unwrap();
    assert_eq!(settled.status, TransactionStatus::Rcvd);
    let settled_ref = resource(sepa, &settled.bank_payment_id);
    let details = bank.get_payment(&settled_ref).await.unwrap();
    assert_eq!(details.instructed_amount, euros(4_870));
    assert_eq!(details.creditor, Some(iban(CREDITOR)));
    assert_eq!(details.creditor_name, "Ignitis");
    step();
    assert_eq!(
        bank.payment_status(&settled_ref).await.unwrap(),
        TransactionStatus::Actc
    );
    step();
    assert_eq!(
        bank.payment_status(&settled_ref).await.unwrap(),
        TransactionStatus::Acsc
    );
    let late = bank.cancel_payment(&settled_ref).await;
    assert!(matches!(late, Err(BankError::CancellationInvalid(_))), "{late:?}");

    let early = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(1_000)))
        .await
        .unwrap();
    let early_ref = resource(sepa, &early.bank_payment_id);
    assert_eq!(
        bank.cancel_payment(&early_ref).await.unwrap(),
        CancellationOutcome::Cancelled
    );
    assert_eq!(bank.payment_status(&early_ref).await.unwrap(), TransactionStatus::Canc);

    let too_big = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(60_000)))
        .await
        .unwrap();
    let blocked = bank
        .initiate_payment(&payment(sepa, BLOCKED_CREDITOR, euros(100)))
        .await
        .unwrap();
    assert_eq!(blocked.status, TransactionStatus::Rjct);
    step();
    let status = bank
        .payment_status(&resource(sepa, &too_big.bank_payment_id))
        .await
        .unwrap();
    assert_eq!(status, TransactionStatus::Rjct, "insufficient funds");

    let instant = PaymentProduct::InstantSepaCreditTransfers;
    let fast = bank
        .initiate_payment(&payment(instant, CREDITOR, euros(999)))
        .await
        .unwrap();
    step();
    let status = bank
        .payment_status(&resource(instant, &fast.bank_payment_id))
        .await
        .unwrap();
    assert_eq!(status, TransactionStatus::Acsc, "instant payments settle at acceptance");
    let refused = bank
        .initiate_payment(&payment(instant, BLOCKED_CREDITOR, euros(100)))
        .await;
    assert!(matches!(refused, Err(BankError::PaymentFailed(_))), "{refused:?}");
    let target2 = bank
        .initiate_payment(&payment(PaymentProduct::Target2Payments, CREDITOR, euros(100)))
        .await;
    assert!(matches!(target2, Err(BankError::ProductInvalid(_))), "{target2:?}");
    let unknown = bank.payment_status(&resource(sepa, "no-such-payment")).await;
    assert!(matches!(unknown, Err(BankError::ResourceUnknown(_))), "{unknown:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn payment_authorisation_and_cancellation_with_sca() {
    let config = SandboxConfig {
        auto_approve: false,
        cancellation_requires_sca: true,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let bank = client(&sandbox, "seb");
    let sepa = PaymentProduct::SepaCreditTransfers;
    let created = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(2_500)))
        .await
        .unwrap();
    let payment_ref = resource(sepa, &created.bank_payment_id);
    assert!(created.sca.redirect_url.is_some());
    let authorisation = bank.start_payment_authorisation(&payment_ref).await.unwrap();
    assert_eq!(authorisation.sca_status, ScaStatus::Received);
    press(authorisation.sca.redirect_url.as_deref().unwrap(), "approve").await;
    let status = bank
        .payment_sca_status(&payment_ref, &authorisation.authorisation_id)
        .await
        .unwrap();
    assert_eq!(status, ScaStatus::Finalised);
    let again = bank.start_payment_authorisation(&payment_ref).await;
    assert!(matches!(again, Err(BankError::StatusInvalid(_))), "{again:?}");

    let outcome = bank.cancel_payment(&payment_ref).await.unwrap();
    let CancellationOutcome::AuthorisationRequired { sca, .. } = outcome else {
        panic!("SCA needed: {outcome:?}")
    };
    press(sca.redirect_url.as_deref().unwrap(), "approve").await;
    assert_eq!(
        bank.payment_status(&payment_ref).await.unwrap(),
        TransactionStatus::Canc
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn repeated_request_ids_are_counted_and_optionally_deduplicated() {
    for dedupe in [false, true] {
        let config = SandboxConfig {
            dedupe_request_ids: dedupe,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        let bank = client(&sandbox, "revolut");
        let request = payment(PaymentProduct::SepaCreditTransfers, CREDITOR, euros(1_999));
        let first = bank.initiate_payment(&request).await.unwrap();
        let second = bank.initiate_payment(&request).await.unwrap();
        assert_eq!(first.bank_payment_id == second.bank_payment_id, dedupe);
        let counters = admin(&sandbox, "revolut", "counters").await;
        let created = if dedupe { 1 } else { 2 };
        assert_eq!(counters["paymentsByRequestId"][request.request_id.to_string()], created);
        assert_eq!(counters["paymentsByEndToEndId"][&request.end_to_end_id], created);
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn injected_faults_become_typed_errors() {
    let config = SandboxConfig {
        problem_json_banks: vec!["revolut".into()],
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let mut fast = BankConfig::sandbox("seb", "SEB", &sandbox.base_url()).unwrap();
    fast.timeout_ms = 300;
    let bank = BerlinGroupClient::new(fast).unwrap();
    let consent = bank
        .create_consent(&consent_request("psu-10", today(), 4))
        .await
        .unwrap()
        .consent_id;

    set_faults(&sandbox, "seb", serde_json::json!({ "error_rate": 1.0 })).await;
    let error = bank.consent_status(&consent).await;
    assert!(
        matches!(error, Err(BankError::UnexpectedStatus { status: 500, .. })),
        "{error:?}"
    );

    set_faults(
        &sandbox,
        "seb",
        serde_json::json!({ "too_many_requests_rate": 1.0, "retry_after_secs": 3 }),
    )
    .await;
    let error = bank.consent_status(&consent).await;
    let expected = Some(RetryAfter::Delay(Duration::from_secs(3)));
    assert!(matches!(error, Err(BankError::AccessExceeded { retry_after, .. }) if retry_after == expected));

    set_faults(
        &sandbox,
        "seb",
        serde_json::json!({ "timeout_rate": 1.0, "timeout_ms": 800 }),
    )
    .await;
    assert_eq!(bank.consent_status(&consent).await, Err(BankError::Timeout));

    set_faults(&sandbox, "seb", serde_json::json!({ "malformed_rate": 1.0 })).await;
    let error = bank.consent_status(&consent).await;
    assert!(matches!(error, Err(BankError::Malformed(_))), "{error:?}");

    set_faults(&sandbox, "seb", serde_json::json!({ "oversized_rate": 1.0 })).await;
    let error = bank.accounts(&consent, &PsuContext::present("192.0.2.1")).await;
    assert!(matches!(error, Err(BankError::Malformed(_))), "{error:?}");

    set_faults(
        &sandbox,
        "seb",
        serde_json::json!({ "drop_after_processing_rate": 1.0 }),
    )
    .await;
    let request = payment(PaymentProduct::SepaCreditTransfers, CREDITOR, euros(700));
    let error = bank.initiate_payment(&request).await.unwrap_err();
    assert!(matches!(error, BankError::Transport(_)), "{error:?}");
    assert!(error.outcome_unknown());
    let counters = admin(&sandbox, "seb", "counters").await;
    assert_eq!(
        counters["paymentsByRequestId"][request.request_id.to_string()],
        1,
        "processed though unanswered"
    );

    set_faults(&sandbox, "seb", serde_json::json!({ "latency_ms": 50 })).await;
    assert_eq!(bank.consent_status(&consent).await.unwrap(), ConsentStatus::Valid);
    let faults = admin(&sandbox, "seb", "faults").await;
    assert_eq!(faults["latency_ms"], 50);

    let problem_bank = client(&sandbox, "revolut");
    let error = problem_bank.consent_status("unknown").await;
    assert!(
        matches!(error, Err(BankError::ConsentUnknown(_))),
        "problem+json is understood: {error:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn random_faults_never_panic_the_client() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let mut config = BankConfig::sandbox("luminor", "Luminor", &sandbox.base_url()).unwrap();
    config.timeout_ms = 300;
    let bank = BerlinGroupClient::new(config).unwrap();
    let consent = bank
        .create_consent(&consent_request("psu-11", today(), 4))
        .await
        .unwrap()
        .consent_id;
    set_faults(
        &sandbox,
        "luminor",
        serde_json::json!({
            "error_rate": 0.15, "too_many_requests_rate": 0.15, "timeout_rate": 0.1, "timeout_ms": 400,
            "malformed_rate": 0.15, "drop_after_processing_rate": 0.15
        }),
    )
    .await;
    let psu = PsuContext::present("192.0.2.1");
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..40 {
        match bank.accounts(&consent, &psu).await {
            Ok(accounts) => {
                assert_eq!(accounts.entries.len(), 4);
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
    sandbox.shutdown().await;
}
