//! The Berlin Group client against the in-process sandbox bank over real HTTP: every endpoint, every typed
//! error, the SCA page, the consent rules (frequencyPerDay, expiry, recurring replacement) and payment status
//! progression.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::BankConfig;
use consentry_domain::bank::{
    Balance, BalanceType, BankError, BankPort, BookingStatus, CancellationOutcome, ConsentCreation, Listing,
    PaymentInitiation, PaymentResource, PsuContext, RedirectUris, RetryAfter, ScaRequest, TransactionQuery,
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
        ScaStatus::Received
    );
    clock.advance(chrono::Duration::milliseconds(100));
    assert_eq!(
        bank.consent_sca_status(&created.consent_id, authorisation_id)
            .await
            .unwrap(),
        ScaStatus::PsuAuthenticated,
        "half way through the delay"
    );
    clock.advance(chrono::Duration::milliseconds(100));
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
    // The client prefers to start the authorisation itself: the bank started none.
    assert!(created.sca.redirect_url.is_none() && created.sca.sca_status_url.is_none());
    let start = created
        .sca
        .start_authorisation_url
        .as_deref()
        .expect("startAuthorisation");
    assert!(
        start.ends_with(&format!(
            "/payments/sepa-credit-transfers/{}/authorisations",
            created.bank_payment_id
        )),
        "{start}"
    );
    let authorisation = bank.start_payment_authorisation(&payment_ref).await.unwrap();
    assert_eq!(authorisation.sca_status, ScaStatus::Received);
    assert_eq!(authorisation.sca.approach, Some(ScaApproach::Redirect));
    let answer = press(authorisation.sca.redirect_url.as_deref().unwrap(), "approve").await;
    assert_eq!(
        answer.headers()["location"],
        "https://tpp.example/ok",
        "back to the redirect URI given at initiation"
    );
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

/// A payment from `debtor` under the end-to-end id `end_to_end_id`.
fn payment_from(debtor: &Iban, amount: Money, end_to_end_id: &str) -> PaymentInitiation {
    PaymentInitiation {
        debtor: debtor.clone(),
        end_to_end_id: end_to_end_id.into(),
        ..payment(PaymentProduct::SepaCreditTransfers, CREDITOR, amount)
    }
}

/// A call to `url` with a fresh X-Request-ID and the user present; with `explicit`, the TPP prefers to start
/// authorisations itself. The status and the body (Null when empty).
async fn raw(method: reqwest::Method, url: &str, consent: Option<&str>, explicit: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
        .header("PSU-IP-Address", "192.0.2.1");
    if let Some(consent) = consent {
        request = request.header("Consent-ID", consent);
    }
    if explicit {
        request = request.header("TPP-Explicit-Authorisation-Preferred", "true");
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, body)
}

/// The booked transactions of an account from `from` on, as the bank sends them.
async fn raw_booked(sandbox: &SandboxHandle, bank: &str, consent: &str, account: &str, from: NaiveDate) -> Vec<Value> {
    let url = format!(
        "{}/v1/accounts/{account}/transactions?bookingStatus=booked&dateFrom={from}",
        sandbox.bank_url(bank)
    );
    let (status, body) = raw(reqwest::Method::GET, &url, Some(consent), false).await;
    assert_eq!(status, 200, "{body}");
    body["transactions"]["booked"].as_array().cloned().unwrap_or_default()
}

fn seconds(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

/// The statuses of `ids` at Swedbank now.
async fn statuses(bank: &BerlinGroupClient, ids: &[String]) -> Vec<TransactionStatus> {
    let mut statuses = Vec::new();
    for id in ids {
        let status = bank
            .payment_status(&resource(PaymentProduct::SepaCreditTransfers, id))
            .await
            .unwrap();
        statuses.push(status);
    }
    statuses
}

#[tokio::test]
async fn each_bank_moves_payments_on_its_own_delays_and_rejects_its_share() {
    let mut config = SandboxConfig {
        accept_after_ms: 100,
        settle_after_ms: 250,
        ..SandboxConfig::default()
    };
    let swedbank = config.profiles.get_mut("swedbank").unwrap();
    swedbank.payments.accept_after_ms = Some(2_000);
    swedbank.payments.settle_after_ms = Some(10_000);
    swedbank.payments.rejected_share = 0.25;
    swedbank.payments.pending_share = 0.15;
    config.profiles.get_mut("seb").unwrap().payments.reports_accc = true;
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap();

    // The same payments (by end-to-end id) at two sandboxes fare the same.
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (sandbox, clock) = start_at(config.clone(), start).await;
        let bank = client(&sandbox, "swedbank");
        let mut ids = Vec::new();
        for n in 0..40 {
            let request = payment_from(
                &iban("LT121000011101001000"),
                euros(1_000 + n),
                &format!("E2E-FATE-{n}"),
            );
            ids.push(bank.initiate_payment(&request).await.unwrap().bank_payment_id);
        }
        clock.advance(seconds(1));
        let before_acceptance = statuses(&bank, &ids).await;
        assert!(
            before_acceptance.iter().all(|s| *s == TransactionStatus::Rcvd),
            "{before_acceptance:?}"
        );
        clock.advance(seconds(2));
        let accepted = statuses(&bank, &ids).await;
        clock.advance(seconds(8));
        let executed = statuses(&bank, &ids).await;
        clock.advance(chrono::Duration::hours(25));
        let a_day_later = statuses(&bank, &ids).await;
        assert_eq!(
            executed, a_day_later,
            "nothing moves after execution, pending ones included"
        );
        for (accepted, executed) in accepted.iter().zip(&executed) {
            let expected = match accepted {
                TransactionStatus::Actc => TransactionStatus::Acsc,
                other => *other,
            };
            assert_eq!(*executed, expected, "accepted {accepted}");
        }
        let count = |status| executed.iter().filter(|s| **s == status).count();
        let (rejected, pending, settled) = (
            count(TransactionStatus::Rjct),
            count(TransactionStatus::Pdng),
            count(TransactionStatus::Acsc),
        );
        assert_eq!(rejected + pending + settled, 40, "{executed:?}");
        assert!((4..=17).contains(&rejected), "about a quarter rejected: {rejected}");
        assert!((2..=12).contains(&pending), "some stay pending: {pending}");
        runs.push(executed);

        // SEB follows the global delays and reports ACCC.
        let seb = client(&sandbox, "seb");
        let paid = seb
            .initiate_payment(&payment(PaymentProduct::SepaCreditTransfers, CREDITOR, euros(2_000)))
            .await
            .unwrap();
        let paid = resource(PaymentProduct::SepaCreditTransfers, &paid.bank_payment_id);
        clock.advance(chrono::Duration::milliseconds(150));
        assert_eq!(seb.payment_status(&paid).await.unwrap(), TransactionStatus::Actc);
        clock.advance(chrono::Duration::milliseconds(150));
        assert_eq!(seb.payment_status(&paid).await.unwrap(), TransactionStatus::Accc);
        sandbox.shutdown().await;
    }
    assert_eq!(runs[0], runs[1], "the fates are reproducible");

    let mut bad = SandboxConfig::default();
    bad.profiles.get_mut("seb").unwrap().payments.rejected_share = 0.7;
    bad.profiles.get_mut("seb").unwrap().payments.pending_share = 0.7;
    assert!(Sandbox::start(bad).await.is_err(), "shares over 1 are refused");
}

#[tokio::test]
async fn every_status_poll_is_logged_on_the_sandbox_clock() {
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap();
    let (sandbox, clock) = start_at(SandboxConfig::default(), start).await;
    let bank = client(&sandbox, "luminor");
    let sepa = PaymentProduct::SepaCreditTransfers;
    let request = payment(sepa, CREDITOR, euros(4_200));
    let polled = bank.initiate_payment(&request).await.unwrap();
    let quiet = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(100)))
        .await
        .unwrap();
    let polled_ref = resource(sepa, &polled.bank_payment_id);

    clock.advance(seconds(5));
    bank.payment_status(&polled_ref).await.unwrap();
    clock.advance(chrono::Duration::milliseconds(5_250));
    bank.get_payment(&polled_ref).await.unwrap();
    set_faults(
        &sandbox,
        "luminor",
        serde_json::json!({ "too_many_requests_rate": 1.0, "retry_after_secs": 2 }),
    )
    .await;
    clock.advance(seconds(30));
    let refused = bank.payment_status(&polled_ref).await;
    assert!(matches!(refused, Err(BankError::AccessExceeded { .. })), "{refused:?}");
    set_faults(&sandbox, "luminor", serde_json::json!({})).await;

    let counters = admin(&sandbox, "luminor", "counters").await;
    assert_eq!(
        counters["statusPolls"][&polled.bank_payment_id],
        serde_json::json!([
            "2026-05-04T09:00:05.000Z",
            "2026-05-04T09:00:10.250Z",
            "2026-05-04T09:00:40.250Z"
        ]),
        "{counters}"
    );
    assert!(
        counters["statusPolls"].get(&quiet.bank_payment_id).is_none(),
        "never polled"
    );
    assert_eq!(counters["paymentsByEndToEndId"][&request.end_to_end_id], 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_executed_payment_is_booked_in_the_debtor_account_with_its_end_to_end_id() {
    let start = Utc.with_ymd_and_hms(2026, 5, 4, 9, 0, 0).unwrap();
    let day = start.date_naive();
    let (sandbox, clock) = start_at(SandboxConfig::default(), start).await;
    let bank = client(&sandbox, "seb");
    let psu = PsuContext::present("192.0.2.1");
    let consent = bank
        .create_consent(&consent_request("psu-pay", day, 4))
        .await
        .unwrap()
        .consent_id;
    let accounts = bank.accounts(&consent, &psu).await.unwrap().entries;
    let eur = accounts
        .iter()
        .find(|a| a.currency.code() == "EUR" && a.iban.is_some())
        .unwrap();
    let debtor = eur.iban.clone().unwrap();
    let closing = |balances: &Listing<Balance>| {
        balances
            .entries
            .iter()
            .find(|b| b.balance_type == BalanceType::ClosingBooked)
            .map(|b| b.amount.amount())
            .unwrap()
    };
    let before = closing(&bank.balances(&consent, &eur.resource_id, &psu).await.unwrap());

    let paid = bank
        .initiate_payment(&payment_from(&debtor, euros(4_250), "E2E-BOOKED-1"))
        .await
        .unwrap();
    let refused = bank
        .initiate_payment(&PaymentInitiation {
            creditor: iban(BLOCKED_CREDITOR),
            ..payment_from(&debtor, euros(100), "E2E-REFUSED-1")
        })
        .await
        .unwrap();
    assert_eq!(refused.status, TransactionStatus::Rjct);
    bank.initiate_payment(&payment_from(
        &iban("LT121000011101001000"),
        euros(700),
        "E2E-ELSEWHERE",
    ))
    .await
    .unwrap();
    let with_end_to_end_id = |booked: &[Value]| -> Vec<Value> {
        booked
            .iter()
            .filter(|t| t.get("endToEndId").is_some())
            .cloned()
            .collect()
    };

    clock.advance(seconds(2));
    let paid_ref = resource(PaymentProduct::SepaCreditTransfers, &paid.bank_payment_id);
    assert_eq!(bank.payment_status(&paid_ref).await.unwrap(), TransactionStatus::Actc);
    let booked = raw_booked(&sandbox, "seb", &consent, &eur.resource_id, day).await;
    assert!(
        with_end_to_end_id(&booked).is_empty(),
        "not booked before execution: {booked:?}"
    );

    clock.advance(seconds(2));
    assert_eq!(bank.payment_status(&paid_ref).await.unwrap(), TransactionStatus::Acsc);
    let after = closing(&bank.balances(&consent, &eur.resource_id, &psu).await.unwrap());
    assert_eq!(
        after,
        before - Decimal::new(4_250, 2),
        "the debit is in the booked balance"
    );
    // A day later the entry is still there, dated the day of execution.
    clock.advance(chrono::Duration::days(1));
    let booked = raw_booked(&sandbox, "seb", &consent, &eur.resource_id, day).await;
    let ours = with_end_to_end_id(&booked);
    assert_eq!(
        ours,
        [serde_json::json!({
            "transactionId": format!("B-PAY-{}", paid.bank_payment_id),
            "entryReference": ours[0]["entryReference"],
            "endToEndId": "E2E-BOOKED-1",
            "bookingDate": "2026-05-04",
            "valueDate": "2026-05-04",
            "transactionAmount": { "amount": "-42.50", "currency": "EUR" },
            "creditorName": "Ignitis",
            "creditorAccount": { "iban": CREDITOR },
            "remittanceInformationUnstructured": "Invoice 2026-11",
            "bankTransactionCode": "PMNT-ICDT-ESCT",
        })],
        "only the executed payment, not the refused one nor one from another account"
    );

    // The client reads it as any other debit.
    let query = TransactionQuery {
        booking_status: BookingStatus::Booked,
        date_from: day,
        date_to: None,
    };
    let report = bank
        .transactions(&consent, &eur.resource_id, &query, &psu)
        .await
        .unwrap();
    let read = report
        .booked
        .iter()
        .find(|t| t.transaction_id.as_deref() == Some(&format!("B-PAY-{}", paid.bank_payment_id)))
        .expect("the client reads the booking");
    assert_eq!(read.amount, Money::new(Decimal::new(-4_250, 2), Currency::EUR).unwrap());
    assert_eq!(read.creditor_iban.as_deref(), Some(CREDITOR));
    assert_eq!(read.remittance_information.as_deref(), Some("Invoice 2026-11"));
    sandbox.shutdown().await;
}

/// Initiates a payment at `bank` and has the user approve it on the SCA page; its reference.
async fn authorised_payment(bank: &BerlinGroupClient, amount: Money) -> PaymentResource {
    let created = bank
        .initiate_payment(&payment(PaymentProduct::SepaCreditTransfers, CREDITOR, amount))
        .await
        .unwrap();
    let payment = resource(PaymentProduct::SepaCreditTransfers, &created.bank_payment_id);
    let authorisation = bank.start_payment_authorisation(&payment).await.unwrap();
    let answer = press(authorisation.sca.redirect_url.as_deref().unwrap(), "approve").await;
    assert_eq!(answer.status().as_u16(), 303);
    payment
}

#[tokio::test]
async fn cancellation_is_204_before_authorisation_202_before_execution_and_405_after() {
    let config = SandboxConfig {
        auto_approve: false,
        cancellation_requires_sca: true,
        accept_after_ms: 60_000,
        settle_after_ms: 3_600_000,
        ..SandboxConfig::default()
    };
    let (sandbox, clock) = start_with_manual_clock(config).await;
    let bank = client(&sandbox, "swedbank");
    let sepa = PaymentProduct::SepaCreditTransfers;
    let url = |payment: &PaymentResource, tail: &str| {
        format!(
            "{}/v1/payments/sepa-credit-transfers/{}{tail}",
            sandbox.bank_url("swedbank"),
            payment.payment_id
        )
    };

    // Not authorised yet: cancelled at once, whatever the TPP prefers.
    let created = bank
        .initiate_payment(&payment(sepa, CREDITOR, euros(1_000)))
        .await
        .unwrap();
    let unauthorised = resource(sepa, &created.bank_payment_id);
    let (status, body) = raw(reqwest::Method::DELETE, &url(&unauthorised, ""), None, true).await;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(
        bank.payment_status(&unauthorised).await.unwrap(),
        TransactionStatus::Canc
    );
    let again = bank.cancel_payment(&unauthorised).await;
    assert!(matches!(again, Err(BankError::CancellationInvalid(_))), "{again:?}");

    // Authorised, not executed, the TPP starts the cancellation's authorisation itself: 202 with
    // startAuthorisation, and nothing started yet.
    let explicit = authorised_payment(&bank, euros(2_000)).await;
    let (status, body) = raw(
        reqwest::Method::POST,
        &url(&explicit, "/cancellation-authorisations"),
        None,
        false,
    )
    .await;
    assert_eq!(
        (status, body["tppMessages"][0]["code"].as_str()),
        (409, Some("STATUS_INVALID")),
        "no cancellation asked for yet"
    );
    clock.advance(seconds(61));
    let (status, body) = raw(reqwest::Method::DELETE, &url(&explicit, ""), None, true).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["transactionStatus"], "ACTC");
    assert!(body.get("scaStatus").is_none(), "{body}");
    assert_eq!(
        body["_links"]["startAuthorisation"]["href"],
        url(&explicit, "/cancellation-authorisations").as_str()
    );
    assert!(body["_links"].get("scaRedirect").is_none(), "{body}");
    let (status, started) = raw(
        reqwest::Method::POST,
        &url(&explicit, "/cancellation-authorisations"),
        None,
        false,
    )
    .await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["scaStatus"], "received");
    let authorisation_id = started["authorisationId"].as_str().unwrap();
    assert_eq!(
        started["_links"]["scaStatus"]["href"],
        url(&explicit, &format!("/cancellation-authorisations/{authorisation_id}")).as_str()
    );
    let answer = press(started["_links"]["scaRedirect"]["href"].as_str().unwrap(), "approve").await;
    assert_eq!(
        answer.headers()["location"],
        "https://tpp.example/ok",
        "the initiation's redirect URI"
    );
    let (_, sca) = raw(
        reqwest::Method::GET,
        &url(&explicit, &format!("/cancellation-authorisations/{authorisation_id}")),
        None,
        false,
    )
    .await;
    assert_eq!(sca["scaStatus"], "finalised");
    assert_eq!(bank.payment_status(&explicit).await.unwrap(), TransactionStatus::Canc);

    // Without the preference the bank starts it: 202 with the SCA links; denied, the payment goes on.
    let implicit = authorised_payment(&bank, euros(3_000)).await;
    let outcome = bank.cancel_payment(&implicit).await.unwrap();
    let CancellationOutcome::AuthorisationRequired { status, sca } = outcome else {
        panic!("SCA needed: {outcome:?}")
    };
    assert_eq!(status, TransactionStatus::Rcvd);
    assert!(sca.start_authorisation_url.is_none() && sca.sca_status_url.is_some());
    let answer = press(sca.redirect_url.as_deref().unwrap(), "deny").await;
    assert_eq!(answer.headers()["location"], "https://tpp.example/nok");
    assert_eq!(bank.payment_status(&implicit).await.unwrap(), TransactionStatus::Rcvd);
    let (status, _) = raw(
        reqwest::Method::POST,
        &url(&implicit, "/cancellation-authorisations"),
        None,
        false,
    )
    .await;
    assert_eq!(status, 409, "the denied cancellation is over");

    // Executed: final, not cancellable.
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(bank.payment_status(&implicit).await.unwrap(), TransactionStatus::Acsc);
    let (status, body) = raw(reqwest::Method::DELETE, &url(&implicit, ""), None, true).await;
    assert_eq!(
        (status, body["tppMessages"][0]["code"].as_str()),
        (405, Some("CANCELLATION_INVALID"))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn payment_sca_explicit_or_implicit_redirect_or_decoupled() {
    let mut config = SandboxConfig {
        auto_approve: false,
        decoupled_delay_ms: 2_000,
        accept_after_ms: 1_000,
        settle_after_ms: 3_000,
        ..SandboxConfig::default()
    };
    config
        .profiles
        .get_mut("luminor")
        .unwrap()
        .payments
        .implicit_authorisation_only = true;
    let (sandbox, clock) = start_with_manual_clock(config).await;
    let sepa = PaymentProduct::SepaCreditTransfers;
    let decoupled = |amount| {
        let mut request = payment(sepa, CREDITOR, amount);
        request.sca.preferred_approach = Some(ScaApproach::Decoupled);
        request
    };

    // Explicit and decoupled: the TPP starts the authorisation without saying the approach again; its
    // scaStatus moves received → psuAuthenticated → finalised over the delay, then the payment moves on.
    let bank = client(&sandbox, "swedbank");
    let created = bank.initiate_payment(&decoupled(euros(1_500))).await.unwrap();
    assert_eq!(created.sca.approach, Some(ScaApproach::Decoupled));
    assert!(created.sca.start_authorisation_url.is_some() && created.sca.sca_status_url.is_none());
    let paid = resource(sepa, &created.bank_payment_id);
    clock.advance(seconds(5));
    assert_eq!(
        bank.payment_status(&paid).await.unwrap(),
        TransactionStatus::Rcvd,
        "waits for SCA"
    );
    let authorisation = bank.start_payment_authorisation(&paid).await.unwrap();
    assert_eq!(authorisation.sca.approach, Some(ScaApproach::Decoupled));
    assert!(authorisation.sca.redirect_url.is_none() && authorisation.sca.sca_status_url.is_some());
    let mut seen = vec![authorisation.sca_status];
    for _ in 0..4 {
        clock.advance(chrono::Duration::milliseconds(500));
        seen.push(
            bank.payment_sca_status(&paid, &authorisation.authorisation_id)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        seen,
        [
            ScaStatus::Received,
            ScaStatus::Received,
            ScaStatus::PsuAuthenticated,
            ScaStatus::PsuAuthenticated,
            ScaStatus::Finalised
        ]
    );
    // Authorised 2 s after the start, accepted a second later, executed three seconds after authorisation; a
    // clock that jumps past both sees them at once.
    clock.advance(chrono::Duration::milliseconds(999));
    assert_eq!(bank.payment_status(&paid).await.unwrap(), TransactionStatus::Rcvd);
    clock.advance(chrono::Duration::milliseconds(1));
    assert_eq!(bank.payment_status(&paid).await.unwrap(), TransactionStatus::Actc);
    clock.advance(seconds(2));
    assert_eq!(bank.payment_status(&paid).await.unwrap(), TransactionStatus::Acsc);
    let again = bank.start_payment_authorisation(&paid).await;
    assert!(matches!(again, Err(BankError::StatusInvalid(_))), "{again:?}");

    // A bank that ignores the preference starts the authorisation itself.
    let luminor = client(&sandbox, "luminor");
    let created = luminor
        .initiate_payment(&payment(sepa, CREDITOR, euros(1_500)))
        .await
        .unwrap();
    assert!(created.sca.start_authorisation_url.is_none());
    let page = created
        .sca
        .redirect_url
        .expect("scaRedirect of the implicit authorisation");
    assert_eq!(press(&page, "approve").await.status().as_u16(), 303);
    clock.advance(seconds(3));
    assert_eq!(
        luminor
            .payment_status(&resource(sepa, &created.bank_payment_id))
            .await
            .unwrap(),
        TransactionStatus::Acsc
    );
    let created = luminor.initiate_payment(&decoupled(euros(1_500))).await.unwrap();
    assert!(created.sca.redirect_url.is_none() && created.sca.sca_status_url.is_some());
    clock.advance(seconds(5));
    assert_eq!(
        luminor
            .payment_status(&resource(sepa, &created.bank_payment_id))
            .await
            .unwrap(),
        TransactionStatus::Acsc,
        "decoupled: approved after the delay, then executed"
    );

    // Auto-approval: a payment the TPP would authorise explicitly needs no authorisation at all.
    let url = format!("{}/admin/auto-approve", sandbox.bank_url("seb"));
    reqwest::Client::new().put(url).json(&true).send().await.unwrap();
    let seb = client(&sandbox, "seb");
    let created = seb
        .initiate_payment(&payment(sepa, CREDITOR, euros(1_500)))
        .await
        .unwrap();
    assert!(created.sca.start_authorisation_url.is_none() && created.sca.redirect_url.is_none());
    let exempted = resource(sepa, &created.bank_payment_id);
    let refused = seb.start_payment_authorisation(&exempted).await;
    assert!(matches!(refused, Err(BankError::StatusInvalid(_))), "{refused:?}");
    clock.advance(seconds(3));
    assert_eq!(seb.payment_status(&exempted).await.unwrap(), TransactionStatus::Acsc);
    sandbox.shutdown().await;
}
