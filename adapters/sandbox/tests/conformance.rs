//! Conformance with the Berlin Group NextGenPSD2 1.3.12 OpenAPI file (in the shared `spec/` folder beside the
//! workspace): every body the sandbox answers on the endpoints the client uses, and every body the client
//! sends, is validated against the spec's own schema for it. The client's bodies are caught by a recording
//! server, so they are checked exactly as they went over the wire.

use std::sync::{Arc, Mutex, OnceLock};

use axum::http::StatusCode;
use axum::Json;
use chrono::{Days, Utc};
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::BankConfig;
use consentry_domain::bank::{BankPort, ConsentCreation, PaymentInitiation, RedirectUris, ScaRequest};
use consentry_domain::consent::ConsentAccess;
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::{Currency, Iban, Money};
use consentry_sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use serde_json::{json, Value};

const SPEC: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/psd2-api_v1.3.12-2022-07-06.yaml"
);

/// The spec's `components.schemas`, as JSON.
fn schemas() -> &'static Value {
    static SCHEMAS: OnceLock<Value> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let text = std::fs::read_to_string(SPEC).expect("the Berlin Group spec is in shared/spec beside the workspace");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("the spec is YAML");
        serde_json::to_value(&yaml["components"]["schemas"]).expect("the schemas convert to JSON")
    })
}

/// Every way `instance` violates `#/components/schemas/{name}`.
fn violations(name: &str, instance: &Value) -> Vec<String> {
    assert!(schemas().get(name).is_some(), "the spec has no schema {name}");
    let schema = json!({ "$ref": format!("#/components/schemas/{name}"), "components": { "schemas": schemas() } });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_conforms(name: &str, instance: &Value) {
    let errors = violations(name, instance);
    assert!(
        errors.is_empty(),
        "{name} violated:\n{}\nbody: {instance:#}",
        errors.join("\n")
    );
}

fn sca() -> ScaRequest {
    ScaRequest {
        psu_ip_address: "192.0.2.10".into(),
        psu_id: None,
        redirect: Some(RedirectUris {
            ok: "https://tpp.example/ok".into(),
            nok: Some("https://tpp.example/nok".into()),
        }),
        preferred_approach: None,
    }
}

#[test]
fn the_validator_rejects_what_the_spec_forbids() {
    assert!(!violations("consentStatusResponse-200", &json!({ "consentStatus": "approved" })).is_empty());
    assert!(!violations("consents", &json!({ "access": {}, "recurringIndicator": true })).is_empty());
    let transactions =
        json!({ "transactions": { "booked": [{ "transactionAmount": { "amount": 12.5, "currency": "EUR" } }] } });
    assert!(!violations("transactionsResponse-200_json", &transactions).is_empty());
}

/// Starts a bank that records the JSON body of every request and refuses it; answers its base URL and the
/// bodies so far.
async fn recording_bank() -> (String, Arc<Mutex<Vec<Value>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let recorded = bodies.clone();
    let app = axum::Router::new().fallback(move |Json(body): Json<Value>| {
        let recorded = recorded.clone();
        async move {
            recorded.lock().unwrap().push(body);
            let refusal =
                json!({ "tppMessages": [{ "category": "ERROR", "code": "FORMAT_ERROR", "text": "recorded" }] });
            (StatusCode::BAD_REQUEST, Json(refusal))
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let url = format!("http://{}/recorder", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, bodies)
}

#[tokio::test]
async fn client_request_bodies_conform() {
    let (url, bodies) = recording_bank().await;
    let bank = BerlinGroupClient::new(BankConfig::new("recorder", "Recorder", &url).unwrap()).unwrap();
    let today = Utc::now().date_naive();
    let iban = |s: &str| Iban::parse(s).unwrap();
    for access in [
        ConsentAccess::AllPsd2,
        ConsentAccess::AvailableAccounts,
        ConsentAccess::Dedicated {
            accounts: vec![iban("LT121000011101001000")],
            balances: vec![iban("LT121000011101001000")],
            transactions: vec![],
        },
    ] {
        let creation = ConsentCreation {
            access,
            recurring_indicator: true,
            valid_until: today + Days::new(90),
            frequency_per_day: 4,
            combined_service_indicator: false,
            sca: sca(),
        };
        assert!(
            bank.create_consent(&creation).await.is_err(),
            "the recording bank refuses"
        );
    }
    let payment = PaymentInitiation {
        service: PaymentService::Payments,
        product: PaymentProduct::SepaCreditTransfers,
        debtor: iban("LT121000011101001000"),
        creditor: iban("DE89370400440532013000"),
        creditor_name: "Rimi Lietuva".into(),
        instructed_amount: Money::new(Decimal::new(1234, 2), Currency::EUR).unwrap(),
        remittance_information: Some("Invoice 42".into()),
        end_to_end_id: uuid::Uuid::new_v4().simple().to_string(),
        request_id: uuid::Uuid::new_v4(),
        sca: sca(),
    };
    assert!(
        bank.initiate_payment(&payment).await.is_err(),
        "the recording bank refuses"
    );
    let bodies = bodies.lock().unwrap();
    assert_eq!(bodies.len(), 4, "three consents and one payment, each sent once");
    for consent in &bodies[..3] {
        assert_conforms("consents", consent);
    }
    assert_conforms("paymentInitiation_json", &bodies[3]);
}

/// A raw HTTP caller, so the sandbox's bodies are checked exactly as sent.
struct Raw {
    http: reqwest::Client,
    base: String,
}

impl Raw {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        consent: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
            .header("PSU-IP-Address", "192.0.2.10")
            .header("TPP-Redirect-URI", "https://tpp.example/ok");
        if let Some(consent) = consent {
            request = request.header("Consent-ID", consent);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).unwrap()
            },
        )
    }
}

#[tokio::test]
async fn sandbox_response_bodies_conform() {
    let config = SandboxConfig {
        auto_approve: false,
        cancellation_requires_sca: true,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let raw = Raw {
        http: reqwest::Client::new(),
        base: sandbox.bank_url("luminor"),
    };
    use reqwest::Method;
    let valid_until = (Utc::now().date_naive() + Days::new(30)).to_string();
    let consent_body = json!({
        "access": { "allPsd2": "allAccounts" },
        "recurringIndicator": true,
        "validUntil": valid_until,
        "frequencyPerDay": 4,
        "combinedServiceIndicator": false,
    });
    let (status, created) = raw.call(Method::POST, "/v1/consents", None, Some(consent_body)).await;
    assert_eq!(status, 201);
    assert_conforms("consentsResponse-201", &created);
    let consent_id = created["consentId"].as_str().unwrap().to_owned();

    let (status, body) = raw
        .call(Method::GET, &format!("/v1/consents/{consent_id}/status"), None, None)
        .await;
    assert_eq!(status, 200);
    assert_conforms("consentStatusResponse-200", &body);

    let (status, body) = raw.call(Method::GET, "/v1/accounts", Some(&consent_id), None).await;
    assert_eq!(status, 401, "not authorised yet");
    assert_conforms("Error401_NG_AIS", &body);

    let (status, started) = raw
        .call(
            Method::POST,
            &format!("/v1/consents/{consent_id}/authorisations"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201);
    assert_conforms("startScaprocessResponse", &started);
    let authorisation_id = started["authorisationId"].as_str().unwrap();
    let path = format!("/v1/consents/{consent_id}/authorisations/{authorisation_id}");
    let (_, body) = raw.call(Method::GET, &path, None, None).await;
    assert_conforms("scaStatusResponse", &body);
    let approve = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = started["_links"]["scaRedirect"]["href"].as_str().unwrap();
    let answer = approve
        .post(page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);

    let (status, body) = raw
        .call(Method::GET, &format!("/v1/consents/{consent_id}"), None, None)
        .await;
    assert_eq!(status, 200);
    assert_conforms("consentInformationResponse-200_json", &body);

    let (_, accounts) = raw.call(Method::GET, "/v1/accounts", Some(&consent_id), None).await;
    assert_conforms("accountList", &accounts);
    let account = accounts["accounts"][0]["resourceId"].as_str().unwrap().to_owned();
    let debtor = accounts["accounts"][0]["iban"].clone();
    let (_, body) = raw
        .call(
            Method::GET,
            &format!("/v1/accounts/{account}/balances"),
            Some(&consent_id),
            None,
        )
        .await;
    assert_conforms("readAccountBalanceResponse-200", &body);
    let date_from = (Utc::now().date_naive() - Days::new(60)).to_string();
    let path = format!("/v1/accounts/{account}/transactions?bookingStatus=both&dateFrom={date_from}");
    let (_, body) = raw.call(Method::GET, &path, Some(&consent_id), None).await;
    assert!(body["transactions"]["booked"].as_array().is_some_and(|b| !b.is_empty()));
    assert_conforms("transactionsResponse-200_json", &body);
    let path = format!("/v1/accounts/{account}/transactions?bookingStatus=both&dateFrom={date_from}&dateTo=2000-01-01");
    let (status, body) = raw.call(Method::GET, &path, Some(&consent_id), None).await;
    assert_eq!(status, 400);
    assert_conforms("Error400_NG_AIS", &body);

    let payment = json!({
        "endToEndIdentification": "conformance-1",
        "debtorAccount": { "iban": debtor },
        "instructedAmount": { "amount": "12.30", "currency": "EUR" },
        "creditorAccount": { "iban": "DE89370400440532013000" },
        "creditorName": "Telia Lietuva",
        "remittanceInformationUnstructured": "Invoice 7",
    });
    let (status, created) = raw
        .call(Method::POST, "/v1/payments/sepa-credit-transfers", None, Some(payment))
        .await;
    assert_eq!(status, 201);
    assert_conforms("paymentInitiationRequestResponse-201", &created);
    let payment_path = format!(
        "/v1/payments/sepa-credit-transfers/{}",
        created["paymentId"].as_str().unwrap()
    );
    let (_, body) = raw.call(Method::GET, &payment_path, None, None).await;
    assert_conforms("paymentInitiationWithStatusResponse", &body);
    let (_, body) = raw
        .call(Method::GET, &format!("{payment_path}/status"), None, None)
        .await;
    assert_conforms("paymentInitiationStatusResponse-200_json", &body);
    let (status, started) = raw
        .call(
            Method::POST,
            &format!("{payment_path}/authorisations"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201);
    assert_conforms("startScaprocessResponse", &started);
    let page = started["_links"]["scaRedirect"]["href"].as_str().unwrap();
    approve
        .post(page)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .unwrap();
    let (status, body) = raw.call(Method::DELETE, &payment_path, None, None).await;
    assert_eq!(
        status, 202,
        "cancelling an authorised payment needs SCA in this configuration"
    );
    assert_conforms("paymentInitiationCancelResponse-202", &body);

    let (status, body) = raw
        .call(Method::DELETE, &format!("/v1/consents/{consent_id}"), None, None)
        .await;
    assert_eq!((status, body), (204, Value::Null));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn sandbox_error_bodies_conform() {
    let config = SandboxConfig {
        accept_after_ms: 0,
        settle_after_ms: 0,
        problem_json_banks: vec!["revolut".into()],
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let raw = Raw {
        http: reqwest::Client::new(),
        base: sandbox.bank_url("seb"),
    };
    use reqwest::Method;
    let payment = json!({
        "debtorAccount": { "iban": "LT121000011101001000" },
        "instructedAmount": { "amount": "1.00", "currency": "EUR" },
        "creditorAccount": { "iban": "DE89370400440532013000" },
        "creditorName": "Bolt",
    });
    let (_, created) = raw
        .call(Method::POST, "/v1/payments/sepa-credit-transfers", None, Some(payment))
        .await;
    let path = format!(
        "/v1/payments/sepa-credit-transfers/{}",
        created["paymentId"].as_str().unwrap()
    );
    let (status, body) = raw.call(Method::DELETE, &path, None, None).await;
    assert_eq!(status, 405, "settled at once, so no longer cancellable");
    assert_conforms("Error405_NG_PIS_CANC", &body);
    let consent_body = json!({
        "access": { "availableAccounts": "allAccounts" },
        "recurringIndicator": false,
        "validUntil": (Utc::now().date_naive() + Days::new(1)).to_string(),
        "frequencyPerDay": 1,
        "combinedServiceIndicator": false,
    });
    let (_, created) = raw.call(Method::POST, "/v1/consents", None, Some(consent_body)).await;
    let consent_id = created["consentId"].as_str().unwrap();
    let unattended = reqwest::Client::new();
    let read = || {
        unattended
            .get(format!("{}/v1/accounts", sandbox.bank_url("seb")))
            .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
            .header("Consent-ID", consent_id)
            .send()
    };
    assert_eq!(read().await.unwrap().status().as_u16(), 200);
    let exceeded = read().await.unwrap();
    assert_eq!(exceeded.status().as_u16(), 429);
    assert_conforms("Error429_NG_AIS", &exceeded.json::<Value>().await.unwrap());
    let (status, body) = raw.call(Method::GET, "/v1/consents/no-such-consent", None, None).await;
    assert_eq!(status, 403);
    assert_conforms("Error403_NG_AIS", &body);
    let problem = Raw {
        http: reqwest::Client::new(),
        base: sandbox.bank_url("revolut"),
    };
    let (status, body) = problem
        .call(Method::GET, "/v1/consents/no-such-consent", None, None)
        .await;
    assert_eq!(status, 403);
    assert_conforms("Error403_AIS", &body);
    sandbox.shutdown().await;
}
