//! Conformance with the Berlin Group NextGenPSD2 1.3.12 OpenAPI document, in both directions. The real client
//! drives every endpoint it uses against each of the four sandbox banks through a recording proxy: consents
//! (create, read, status, delete, authorisations and their scaStatus), accounts, balances, every page of
//! transactions, payments (initiate, read, status, cancel, authorisations and their scaStatus), an executed
//! payment booked with its end-to-end id, and the error answers on the way (400, 401, 403, 404, 405, 409, 429,
//! 500, as tppMessages and as problem+json); and, over raw HTTP through the same proxy, a cancellation whose
//! authorisation the TPP starts itself (202 with startAuthorisation, 201, its scaStatus). Every request
//! the client sent is checked against the spec's operation for it, and every answer the sandbox gave against
//! the operation's response for its status (see `openapi`). The test lists every violation and expects none.

mod openapi;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, Utc};
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::BankConfig;
use consentry_domain::bank::{
    BankError, BankPort, BookingStatus, CancellationOutcome, ConsentCreation, PaymentInitiation, PaymentResource,
    PsuContext, RedirectUris, ScaRequest, TransactionQuery,
};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::payment::{PaymentProduct, PaymentService, TransactionStatus};
use consentry_domain::sca::ScaApproach;
use consentry_domain::{Clock, Currency, Iban, Money};
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle, BLOCKED_CREDITOR};
use openapi::{Exchange, Spec};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Headers that describe one hop, not the message: the proxy leaves them to each side's HTTP stack.
const HOP_BY_HOP: [&str; 3] = ["connection", "content-length", "transfer-encoding"];

/// A proxy in front of the sandbox: it forwards each request as it came, `Host` included (so the sandbox's
/// `Location` and `_links` point back through the proxy, and followed links are recorded too), and records
/// every `/v1` exchange with the bank it went to.
struct Recorder {
    url: String,
    exchanges: Arc<Mutex<Vec<(String, Exchange)>>>,
}

#[derive(Clone)]
struct Forwarding {
    http: reqwest::Client,
    target: String,
    exchanges: Arc<Mutex<Vec<(String, Exchange)>>>,
}

impl Recorder {
    async fn start(target: String) -> Self {
        let exchanges = Arc::new(Mutex::new(Vec::new()));
        let forwarding = Forwarding {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            target,
            exchanges: exchanges.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(forwarding);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, exchanges }
    }

    fn exchanges(&self) -> Vec<(String, Exchange)> {
        self.exchanges.lock().unwrap().clone()
    }

    /// The body of the last answer `bank` gave on `path`.
    fn last_answer(&self, bank: &str, path: &str) -> Value {
        let exchanges = self.exchanges.lock().unwrap();
        let (_, exchange) = exchanges
            .iter()
            .rev()
            .find(|(b, e)| b == bank && e.path == path)
            .unwrap_or_else(|| panic!("{bank} was asked for {path}"));
        serde_json::from_slice(&exchange.response_body).unwrap()
    }
}

fn copy_headers(from: &axum::http::HeaderMap) -> HeaderMap {
    from.iter()
        .filter(|(name, _)| !HOP_BY_HOP.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

async fn forward(State(forwarding): State<Forwarding>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let answer = forwarding
        .http
        .request(parts.method.clone(), format!("{}{path_and_query}", forwarding.target))
        .headers(copy_headers(&parts.headers))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let response_headers = copy_headers(answer.headers());
    let response_body: Bytes = answer.bytes().await.unwrap();
    let url = reqwest::Url::parse(&format!("http://proxy{path_and_query}")).unwrap();
    let mut segments = url.path().trim_start_matches('/').splitn(2, '/');
    let bank = segments.next().unwrap_or_default().to_owned();
    let path = format!("/{}", segments.next().unwrap_or_default());
    if path.starts_with("/v1/") {
        forwarding.exchanges.lock().unwrap().push((
            bank,
            Exchange {
                method: parts.method.to_string(),
                path,
                query: url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                request_headers: copy_headers(&parts.headers),
                request_body: body.to_vec(),
                status: status.as_u16(),
                response_headers: response_headers.clone(),
                response_body: response_body.to_vec(),
            },
        ));
    }
    let mut response = Response::new(Body::from(response_body));
    *response.status_mut() = status;
    *response.headers_mut() = response_headers;
    response
}

/// The sandbox's clock, moved by the test so payments execute without waiting.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn client(recorder: &Recorder, bank: &str) -> BerlinGroupClient {
    BerlinGroupClient::new(BankConfig::sandbox(bank, bank, &recorder.url).unwrap()).unwrap()
}

const PSU_IP: &str = "192.0.2.10";
const CREDITOR: &str = "DE89370400440532013000";

fn sca(approach: Option<ScaApproach>) -> ScaRequest {
    ScaRequest {
        psu_ip_address: PSU_IP.into(),
        psu_id: Some("psu-conformance".into()),
        redirect: Some(RedirectUris {
            ok: "https://tpp.example/ok".into(),
            nok: Some("https://tpp.example/nok".into()),
        }),
        preferred_approach: approach,
    }
}

fn creation(access: ConsentAccess, recurring: bool, today: NaiveDate) -> ConsentCreation {
    ConsentCreation {
        access,
        recurring_indicator: recurring,
        valid_until: today + Days::new(if recurring { 90 } else { 1 }),
        frequency_per_day: if recurring { 4 } else { 1 },
        combined_service_indicator: false,
        sca: sca(None),
    }
}

fn iban(text: &str) -> Iban {
    Iban::parse(text).unwrap()
}

fn payment(product: PaymentProduct, debtor: &Iban, creditor: &str) -> PaymentInitiation {
    PaymentInitiation {
        service: PaymentService::Payments,
        product,
        debtor: debtor.clone(),
        creditor: iban(creditor),
        creditor_name: "Telia Lietuva".into(),
        instructed_amount: Money::new(Decimal::new(1_230, 2), Currency::EUR).unwrap(),
        remittance_information: Some("Invoice 7".into()),
        end_to_end_id: uuid::Uuid::new_v4().simple().to_string(),
        request_id: uuid::Uuid::new_v4(),
        sca: sca(None),
    }
}

fn resource(product: PaymentProduct, payment_id: &str) -> PaymentResource {
    PaymentResource {
        service: PaymentService::Payments,
        product,
        payment_id: payment_id.into(),
    }
}

/// Approves on the sandbox's SCA page, as the user's browser would.
async fn approve(page: &str) {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = browser
        .post(page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303, "approved on {page}");
}

/// Asserts `result` is the error `expected` names (its Debug prefix), for error answers on purpose.
fn refused<T: std::fmt::Debug>(result: Result<T, BankError>, expected: &str) {
    let error = result.expect_err(expected);
    assert!(format!("{error:?}").starts_with(expected), "{expected}: {error:?}");
}

/// A call through the proxy with a fresh X-Request-ID, preferring to start authorisations explicitly; its
/// status and body.
async fn explicit_call(recorder: &Recorder, method: reqwest::Method, url: &str) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method.clone(), url)
        .header("X-Request-ID", uuid::Uuid::new_v4().to_string());
    if method == reqwest::Method::DELETE {
        request = request.header("TPP-Explicit-Authorisation-Preferred", "true");
    }
    if method == reqwest::Method::POST {
        request = request.json(&json!({}));
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let body = answer.json().await.unwrap_or(Value::Null);
    assert!(url.starts_with(&recorder.url), "{url} goes through the proxy");
    (status, body)
}

/// Initiates a payment and has the user approve it on the SCA page; its payment id.
async fn authorised(bank: &BerlinGroupClient, request: &PaymentInitiation) -> String {
    let created = bank.initiate_payment(request).await.expect("initiatePayment");
    let payment = resource(request.product, &created.bank_payment_id);
    let authorisation = bank
        .start_payment_authorisation(&payment)
        .await
        .expect("startPaymentAuthorisation");
    approve(authorisation.sca.redirect_url.as_deref().expect("scaRedirect")).await;
    created.bank_payment_id
}

/// Every endpoint the client uses, once or more, at `bank`, with the error answers on the way.
async fn drive(recorder: &Recorder, clock: &TestClock, bank_id: &str) {
    let bank = client(recorder, bank_id);
    let today = Utc::now().date_naive();
    let present = PsuContext::present(PSU_IP);

    // A consent authorised through an explicitly started authorisation and the redirect page.
    let created = bank
        .create_consent(&creation(ConsentAccess::AllPsd2, true, today))
        .await
        .expect("createConsent");
    assert_eq!(created.status, ConsentStatus::Received);
    let consent = created.consent_id;
    bank.get_consent(&consent).await.expect("getConsentInformation");
    refused(bank.accounts(&consent, &present).await, "ConsentInvalid");
    let authorisation = bank
        .start_consent_authorisation(&consent)
        .await
        .expect("startConsentAuthorisation");
    bank.consent_sca_status(&consent, &authorisation.authorisation_id)
        .await
        .expect("getConsentScaStatus");
    approve(authorisation.sca.redirect_url.as_deref().expect("scaRedirect")).await;
    assert_eq!(
        bank.consent_status(&consent).await.expect("getConsentStatus"),
        ConsentStatus::Valid
    );
    refused(bank.start_consent_authorisation(&consent).await, "StatusInvalid");
    refused(
        bank.consent_sca_status(&consent, "no-such-authorisation").await,
        "ResourceUnknown",
    );
    refused(bank.consent_status("no-such-consent").await, "ConsentUnknown");

    // The other shapes of consent the client asks for: decoupled, available accounts, dedicated accounts.
    let mut decoupled = creation(ConsentAccess::AllPsd2, true, today);
    decoupled.sca = sca(Some(ScaApproach::Decoupled));
    let decoupled = bank.create_consent(&decoupled).await.expect("decoupled createConsent");
    assert_eq!(decoupled.sca.approach, Some(ScaApproach::Decoupled));
    bank.create_consent(&creation(ConsentAccess::AvailableAccounts, false, today))
        .await
        .expect("availableAccounts createConsent");
    let dedicated = ConsentAccess::Dedicated {
        accounts: vec![iban("LT121000011101001000")],
        balances: vec![iban("LT121000011101001000")],
        transactions: vec![iban("LT121000011101001000")],
    };
    bank.create_consent(&creation(dedicated, true, today))
        .await
        .expect("dedicated createConsent");

    // Account information. The client's reading of the answers is not what is checked here (a bank it cannot
    // read yet is still read); the accounts' ids come from the answer as recorded.
    let read = bank.accounts(&consent, &present).await;
    let accounts = recorder.last_answer(bank_id, "/v1/accounts");
    let listed = accounts["accounts"].as_array().expect("accounts");
    assert!(!listed.is_empty(), "{bank_id}: {accounts}");
    if read.is_err() {
        println!("{bank_id}: the client could not read its accounts: {read:?}");
    }
    let query = TransactionQuery {
        booking_status: BookingStatus::Both,
        date_from: today - Days::new(90),
        date_to: Some(today),
    };
    for account in listed {
        let id = account["resourceId"].as_str().expect("resourceId");
        if let Err(error) = bank.balances(&consent, id, &present).await {
            println!("{bank_id}: the client could not read the balances of {id}: {error:?}");
        }
        if let Err(error) = bank.transactions(&consent, id, &query, &present).await {
            println!("{bank_id}: the client could not read the transactions of {id}: {error:?}");
        }
    }
    let first = listed[0]["resourceId"].as_str().expect("resourceId");
    let inverted = TransactionQuery {
        date_from: today,
        date_to: Some(today - Days::new(3)),
        ..query
    };
    refused(
        bank.transactions(&consent, first, &inverted, &present).await,
        "PeriodInvalid",
    );
    refused(
        bank.balances(&consent, "no-such-account", &present).await,
        "ResourceUnknown",
    );
    refused(bank.accounts("no-such-consent", &present).await, "ConsentUnknown");

    // A one-off consent read twice without the user: the second read is over frequencyPerDay (429).
    let once = bank
        .create_consent(&creation(ConsentAccess::AvailableAccounts, false, today))
        .await
        .expect("one-off createConsent");
    approve(once.sca.redirect_url.as_deref().expect("scaRedirect")).await;
    let absent = PsuContext::absent();
    let _ = bank.accounts(&once.consent_id, &absent).await;
    refused(bank.accounts(&once.consent_id, &absent).await, "AccessExceeded");

    // Payments: initiated, read, authorised, cancelled with SCA (202); cancelled before authorisation (204);
    // rejected, then not cancellable (405); a product the bank does not offer (400).
    let (debtor_account, debtor) = listed
        .iter()
        .find_map(|a| {
            let iban = a["iban"].as_str().and_then(|i| Iban::parse(i).ok())?;
            Some((a["resourceId"].as_str()?.to_owned(), iban))
        })
        .expect("an account with an IBAN");
    let sepa = PaymentProduct::SepaCreditTransfers;
    let initiated = bank
        .initiate_payment(&payment(sepa, &debtor, CREDITOR))
        .await
        .expect("initiatePayment");
    let paid = resource(sepa, &initiated.bank_payment_id);
    bank.get_payment(&paid).await.expect("getPaymentInformation");
    bank.payment_status(&paid).await.expect("getPaymentInitiationStatus");
    let authorisation = bank
        .start_payment_authorisation(&paid)
        .await
        .expect("startPaymentAuthorisation");
    bank.payment_sca_status(&paid, &authorisation.authorisation_id)
        .await
        .expect("getPaymentInitiationScaStatus");
    approve(authorisation.sca.redirect_url.as_deref().expect("scaRedirect")).await;
    refused(bank.start_payment_authorisation(&paid).await, "StatusInvalid");
    refused(
        bank.payment_sca_status(&paid, "no-such-authorisation").await,
        "ResourceUnknown",
    );
    let cancelled = bank.cancel_payment(&paid).await.expect("cancelPayment");
    assert!(
        matches!(cancelled, CancellationOutcome::AuthorisationRequired { .. }),
        "{cancelled:?}"
    );
    let early = bank
        .initiate_payment(&payment(sepa, &debtor, CREDITOR))
        .await
        .expect("initiatePayment");
    let early = resource(sepa, &early.bank_payment_id);
    assert_eq!(bank.cancel_payment(&early).await, Ok(CancellationOutcome::Cancelled));
    let blocked = bank
        .initiate_payment(&payment(sepa, &debtor, BLOCKED_CREDITOR))
        .await
        .expect("initiatePayment");
    assert_eq!(blocked.status, TransactionStatus::Rjct);
    refused(
        bank.cancel_payment(&resource(sepa, &blocked.bank_payment_id)).await,
        "CancellationInvalid",
    );
    refused(
        bank.initiate_payment(&payment(PaymentProduct::Target2Payments, &debtor, CREDITOR))
            .await,
        "ProductInvalid",
    );

    // A cancellation whose authorisation the TPP starts itself: 202 with startAuthorisation, then 201.
    let cancelled = authorised(&bank, &payment(sepa, &debtor, CREDITOR)).await;
    let url = format!(
        "{}/{bank_id}/v1/payments/sepa-credit-transfers/{cancelled}",
        recorder.url
    );
    let (status, body) = explicit_call(recorder, reqwest::Method::DELETE, &url).await;
    assert_eq!(status, 202, "{body}");
    let start = body["_links"]["startAuthorisation"]["href"]
        .as_str()
        .expect("startAuthorisation");
    let (status, body) = explicit_call(recorder, reqwest::Method::POST, start).await;
    assert_eq!(status, 201, "{body}");
    let sca_status = body["_links"]["scaStatus"]["href"].as_str().expect("scaStatus");
    let (status, _) = explicit_call(recorder, reqwest::Method::GET, sca_status).await;
    assert_eq!(status, 200);

    // An executed payment, booked in its debtor account with its end-to-end id.
    let executed = payment(sepa, &debtor, CREDITOR);
    let end_to_end_id = executed.end_to_end_id.clone();
    authorised(&bank, &executed).await;
    clock.advance(chrono::Duration::hours(2));
    let today = clock.now().date_naive();
    let query = TransactionQuery {
        booking_status: BookingStatus::Booked,
        date_from: today,
        date_to: None,
    };
    if let Err(error) = bank.transactions(&consent, &debtor_account, &query, &present).await {
        println!("{bank_id}: the client could not read the transactions of {debtor_account}: {error:?}");
    }
    let path = format!("/v1/accounts/{debtor_account}/transactions");
    let booked = recorder.exchanges().into_iter().any(|(bank, exchange)| {
        bank == bank_id
            && exchange.path == path
            && serde_json::from_slice::<Value>(&exchange.response_body).is_ok_and(|body| {
                body["transactions"]["booked"]
                    .as_array()
                    .is_some_and(|entries| entries.iter().any(|t| t["endToEndId"] == end_to_end_id.as_str()))
            })
    });
    assert!(
        booked,
        "{bank_id}: the executed payment is booked with its end-to-end id"
    );
    bank.delete_consent(&consent).await.expect("deleteConsent");
}

/// The fault layer's answers: 429 with Retry-After, and 500.
async fn drive_faults(recorder: &Recorder, sandbox: &SandboxHandle, bank_id: &str) {
    let bank = client(recorder, bank_id);
    let set = |faults: Value| async move {
        let answer = reqwest::Client::new()
            .put(format!("{}/admin/faults", sandbox.bank_url(bank_id)))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 200);
    };
    set(json!({ "too_many_requests_rate": 1.0, "retry_after_secs": 1 })).await;
    refused(bank.consent_status("any").await, "AccessExceeded");
    set(json!({ "error_rate": 1.0 })).await;
    refused(
        bank.payment_status(&resource(PaymentProduct::SepaCreditTransfers, "any"))
            .await,
        "UnexpectedStatus",
    );
    set(json!({})).await;
}

/// The operations of the spec the client uses; each is seen answered with success.
const CLIENT_OPERATIONS: [&str; 15] = [
    "createConsent",
    "getConsentInformation",
    "getConsentStatus",
    "deleteConsent",
    "startConsentAuthorisation",
    "getConsentScaStatus",
    "getAccountList",
    "getBalances",
    "getTransactionList",
    "initiatePayment",
    "getPaymentInformation",
    "getPaymentInitiationStatus",
    "cancelPayment",
    "startPaymentAuthorisation",
    "getPaymentInitiationScaStatus",
];

#[tokio::test]
async fn every_exchange_between_the_client_and_the_sandbox_conforms() {
    let config = SandboxConfig {
        auto_approve: false,
        cancellation_requires_sca: true,
        problem_json_banks: vec!["revolut".into()],
        // Nothing moves on its own during the test: payments wait an hour for the clock the test moves (two
        // hours per bank), decoupled SCA a day (so the decoupled consent never replaces the one in use).
        decoupled_delay_ms: 86_400_000,
        accept_after_ms: 3_600_000,
        settle_after_ms: 3_600_000,
        ..SandboxConfig::default()
    };
    // Each bank's payments execute when the test moves the clock on by two hours; the day stays the same.
    let morning = Utc::now().date_naive().and_hms_opt(6, 0, 0).unwrap().and_utc();
    let clock = Arc::new(TestClock(Mutex::new(morning)));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let sandbox = Sandbox::start_with_clock(config, clock.clone(), addr).await.unwrap();
    let recorder = Recorder::start(sandbox.base_url()).await;
    for bank in ["swedbank", "seb", "luminor", "revolut"] {
        drive(&recorder, &clock, bank).await;
    }
    drive_faults(&recorder, &sandbox, "seb").await;
    drive_faults(&recorder, &sandbox, "revolut").await;

    let spec = Spec::get();
    let exchanges = recorder.exchanges();
    let mut violations = Vec::new();
    let mut answered = BTreeSet::new();
    for (bank, exchange) in &exchanges {
        let operation = spec
            .operation(&exchange.method, &exchange.path)
            .map_or("?", |o| o.id)
            .to_owned();
        answered.insert((operation.clone(), exchange.status));
        let query: Vec<String> = exchange.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let label = format!(
            "{bank} {} {}?{} -> {} ({operation})",
            exchange.method,
            exchange.path,
            query.join("&"),
            exchange.status
        );
        for violation in spec.request_violations(exchange) {
            violations.push(format!("{label}: request: {violation}"));
        }
        for violation in spec.response_violations(exchange) {
            violations.push(format!("{label}: answer: {violation}"));
        }
    }

    for operation in CLIENT_OPERATIONS.iter().chain(&[
        "startPaymentInitiationCancellationAuthorisation",
        "getPaymentCancellationScaStatus",
    ]) {
        assert!(
            answered
                .iter()
                .any(|(o, status)| o == operation && (200..300).contains(status)),
            "{operation} answered with success: {answered:?}"
        );
    }
    let statuses: BTreeSet<u16> = answered.iter().map(|(_, s)| *s).collect();
    for status in [201, 202, 204, 400, 401, 403, 404, 405, 409, 429, 500] {
        assert!(statuses.contains(&status), "an answer with {status}: {statuses:?}");
    }
    let further_pages = exchanges
        .iter()
        .filter(|(bank, e)| bank == "swedbank" && e.query.iter().any(|(k, v)| k == "pageIndex" && v != "0"))
        .count();
    assert!(
        further_pages > 3,
        "Swedbank's further pages were followed: {further_pages}"
    );
    let problems = exchanges
        .iter()
        .filter(|(_, e)| {
            e.response_headers
                .get("content-type")
                .is_some_and(|t| t == "application/problem+json")
        })
        .count();
    assert!(problems > 3, "Revolut's errors come as problem+json");

    println!("{} exchanges checked", exchanges.len());
    for violation in &violations {
        println!("{violation}");
    }
    assert!(
        violations.is_empty(),
        "{} violations of the spec in {} exchanges:\n{}",
        violations.len(),
        exchanges.len(),
        violations.join("\n")
    );
    sandbox.shutdown().await;
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

fn exchange(method: &str, path: &str, status: u16, response: HeaderMap, body: Value) -> Exchange {
    Exchange {
        method: method.into(),
        path: path.into(),
        query: Vec::new(),
        request_headers: headers(&[("x-request-id", "99391c7e-ad88-49ec-a2ad-99ddcb1f7721")]),
        request_body: Vec::new(),
        status,
        response_headers: response,
        response_body: if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        },
    }
}

#[test]
fn the_checker_finds_what_the_spec_forbids() {
    let spec = Spec::get();
    assert!(!spec
        .schema_violations("consentStatusResponse-200", &json!({ "consentStatus": "approved" }))
        .is_empty());
    assert!(!spec
        .schema_violations("consents", &json!({ "access": {}, "recurringIndicator": true }))
        .is_empty());
    let transactions =
        json!({ "transactions": { "booked": [{ "transactionAmount": { "amount": 12.5, "currency": "EUR" } }] } });
    assert!(!spec
        .schema_violations("transactionsResponse-200_json", &transactions)
        .is_empty());

    let id = "99391c7e-ad88-49ec-a2ad-99ddcb1f7721";
    let json_type = ("content-type", "application/json");
    let status = json!({ "consentStatus": "valid" });
    let good = exchange(
        "GET",
        "/v1/consents/abc/status",
        200,
        headers(&[json_type, ("x-request-id", id)]),
        status.clone(),
    );
    assert_eq!(
        spec.operation("GET", "/v1/consents/abc/status").map(|o| o.id),
        Some("getConsentStatus")
    );
    assert_eq!(spec.request_violations(&good), Vec::<String>::new());
    assert_eq!(spec.response_violations(&good), Vec::<String>::new());

    let expect = |exchange: &Exchange, needle: &str, request: bool| {
        let found = if request {
            spec.request_violations(exchange)
        } else {
            spec.response_violations(exchange)
        };
        assert!(found.iter().any(|v| v.contains(needle)), "{needle} in {found:?}");
    };
    let no_id = exchange(
        "GET",
        "/v1/consents/abc/status",
        200,
        headers(&[json_type]),
        status.clone(),
    );
    expect(&no_id, "header X-Request-ID is missing", false);
    let bad_id = exchange(
        "GET",
        "/v1/consents/abc/status",
        200,
        headers(&[json_type, ("x-request-id", "abc")]),
        status.clone(),
    );
    expect(&bad_id, "header X-Request-ID \"abc\"", false);
    let approved = exchange(
        "GET",
        "/v1/consents/abc/status",
        200,
        headers(&[json_type, ("x-request-id", id)]),
        json!({ "consentStatus": "approved" }),
    );
    expect(&approved, "body: \"approved\" is not one of", false);
    let teapot = exchange(
        "GET",
        "/v1/consents/abc/status",
        418,
        headers(&[("x-request-id", id)]),
        Value::Null,
    );
    expect(&teapot, "status 418 is not one the operation declares", false);
    let deleted_with_body = exchange(
        "DELETE",
        "/v1/consents/abc",
        204,
        headers(&[json_type, ("x-request-id", id)]),
        status,
    );
    expect(&deleted_with_body, "a body where the answer declares none", false);

    let created_body = json!({ "consentStatus": "received", "consentId": "abc", "_links": { "status": { "href": "/v1/consents/abc/status" } } });
    let relative = exchange(
        "POST",
        "/v1/consents",
        201,
        headers(&[json_type, ("x-request-id", id), ("location", "/v1/consents/abc")]),
        created_body.clone(),
    );
    expect(&relative, "header Location \"/v1/consents/abc\"", false);
    expect(&relative, "header ASPSP-SCA-Approach is missing", false);
    let mut sent = exchange("POST", "/v1/consents", 201, HeaderMap::new(), created_body);
    sent.query = vec![("page".into(), "1".into())];
    sent.request_headers = headers(&[("x-request-id", id), ("consent-id", "abc"), ("psu-ip-address", "::1")]);
    sent.request_body = b"{\"access\":{}}".to_vec();
    expect(&sent, "query parameter page is not one of the operation's", true);
    expect(&sent, "header consent-id is not one of the operation's", true);
    expect(&sent, "header parameter PSU-IP-Address \"::1\"", true);
    expect(&sent, "body:", true);
    sent.request_headers = headers(&[("x-request-id", id)]);
    expect(&sent, "required header parameter PSU-IP-Address is missing", true);
    let unknown = exchange("GET", "/v1/nothing/here", 200, HeaderMap::new(), Value::Null);
    expect(&unknown, "no operation GET /v1/nothing/here", true);
}
