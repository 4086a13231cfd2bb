//! The sandbox's answers as sent, over raw HTTP: X-Request-ID echoed on every answer (errors and injected
//! faults included), absolute Location built from the Host the request came to, ASPSP-SCA-Approach where the
//! spec has it, the four banks' personalities, and the switch that serves a share of list entries malformed.

use chrono::{Days, Utc};
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

/// One answer: status, headers and the body as JSON (Null when empty).
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Calls one sandbox bank with the headers every Berlin Group call carries.
pub struct Raw {
    pub http: reqwest::Client,
    pub base: String,
}

impl Raw {
    pub fn new(sandbox: &SandboxHandle, bank: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: sandbox.bank_url(bank),
        }
    }

    /// `path` under the bank's base URL with a fresh X-Request-ID, the user present and a redirect URI.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
            .header("PSU-IP-Address", "192.0.2.10")
            .header("TPP-Redirect-URI", "https://tpp.example/ok")
    }

    pub async fn call(&self, method: Method, path: &str, consent: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.request(method, path);
        if let Some(consent) = consent {
            request = request.header("Consent-ID", consent);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// A valid allPsd2 consent (the sandbox approves at once by default); its id.
    pub async fn consent(&self) -> String {
        let created = self
            .call(Method::POST, "/v1/consents", None, Some(consent_body()))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["consentId"].as_str().expect("consentId").to_owned()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the sandbox answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    Answer { status, headers, body }
}

pub fn consent_body() -> Value {
    json!({
        "access": { "allPsd2": "allAccounts" },
        "recurringIndicator": true,
        "validUntil": (Utc::now().date_naive() + Days::new(30)).to_string(),
        "frequencyPerDay": 4,
        "combinedServiceIndicator": false,
    })
}

/// `/{bank}/admin/{path}` as JSON.
pub async fn admin(sandbox: &SandboxHandle, bank: &str, path: &str) -> Value {
    reqwest::get(format!("{}/admin/{path}", sandbox.bank_url(bank)))
        .await
        .expect("admin answers")
        .json()
        .await
        .expect("admin JSON")
}

pub async fn set_faults(sandbox: &SandboxHandle, bank: &str, faults: Value) {
    let answer = reqwest::Client::new()
        .put(format!("{}/admin/faults", sandbox.bank_url(bank)))
        .json(&faults)
        .send()
        .await
        .expect("admin answers");
    assert_eq!(
        answer.status().as_u16(),
        200,
        "{}",
        answer.text().await.unwrap_or_default()
    );
}

/// A request with exactly the given X-Request-ID (or none).
fn with_request_id(raw: &Raw, method: Method, path: &str, id: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = raw
        .http
        .request(method, format!("{}{path}", raw.base))
        .header("PSU-IP-Address", "192.0.2.10");
    if let Some(id) = id {
        request = request.header("X-Request-ID", id);
    }
    request
}

#[tokio::test]
async fn x_request_id_is_echoed_on_every_answer() {
    let config = SandboxConfig {
        problem_json_banks: vec!["revolut".into()],
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let seb = Raw::new(&sandbox, "seb");
    let echoes = |answer: &Answer, id: &str| {
        assert_eq!(
            answer.header("x-request-id"),
            Some(id),
            "{} {}",
            answer.status,
            answer.body
        );
    };

    let id = uuid::Uuid::new_v4().to_string();
    let created = send(with_request_id(&seb, Method::POST, "/v1/consents", Some(&id)).json(&consent_body())).await;
    assert_eq!(created.status, 201);
    echoes(&created, &id);
    let consent = created.body["consentId"].as_str().unwrap().to_owned();
    // Upper case is still a UUID, and comes back as sent.
    let id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let status = send(with_request_id(
        &seb,
        Method::GET,
        &format!("/v1/consents/{consent}/status"),
        Some(&id),
    ))
    .await;
    assert_eq!(status.status, 200);
    echoes(&status, &id);

    let id = uuid::Uuid::new_v4().to_string();
    let unknown = send(with_request_id(
        &seb,
        Method::GET,
        "/v1/consents/no-such-consent",
        Some(&id),
    ))
    .await;
    assert_eq!(
        (unknown.status, unknown.body["tppMessages"][0]["code"].as_str()),
        (403, Some("CONSENT_UNKNOWN"))
    );
    echoes(&unknown, &id);
    let revolut = Raw::new(&sandbox, "revolut");
    let problem = send(with_request_id(
        &revolut,
        Method::GET,
        "/v1/consents/no-such-consent",
        Some(&id),
    ))
    .await;
    assert_eq!(
        (problem.status, problem.body["code"].as_str()),
        (403, Some("CONSENT_UNKNOWN"))
    );
    assert_eq!(problem.header("content-type"), Some("application/problem+json"));
    echoes(&problem, &id);

    set_faults(
        &sandbox,
        "seb",
        json!({ "too_many_requests_rate": 1.0, "retry_after_secs": 2 }),
    )
    .await;
    let limited =
        send(with_request_id(&seb, Method::GET, "/v1/accounts", Some(&id)).header("Consent-ID", &consent)).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("2"));
    echoes(&limited, &id);
    set_faults(&sandbox, "seb", json!({ "error_rate": 1.0 })).await;
    let down = send(with_request_id(&seb, Method::GET, "/v1/accounts", Some(&id)).header("Consent-ID", &consent)).await;
    assert_eq!(
        (down.status, &down.body),
        (500, &Value::Null),
        "the spec gives a 500 no body"
    );
    echoes(&down, &id);
    set_faults(&sandbox, "seb", json!({})).await;

    let deleted = send(with_request_id(
        &seb,
        Method::DELETE,
        &format!("/v1/consents/{consent}"),
        Some(&id),
    ))
    .await;
    assert_eq!(deleted.status, 204);
    echoes(&deleted, &id);

    // Without a usable id the request is refused, and the refusal still carries an id of its own.
    for sent in [None, Some("not-a-uuid")] {
        let refused = send(with_request_id(
            &seb,
            Method::GET,
            &format!("/v1/consents/{consent}/status"),
            sent,
        ))
        .await;
        assert_eq!(refused.status, 400, "{sent:?}");
        assert_eq!(refused.body["tppMessages"][0]["code"], "FORMAT_ERROR");
        let answered = refused.header("x-request-id").expect("an id on the refusal");
        assert!(uuid::Uuid::parse_str(answered).is_ok(), "{answered}");
    }
    let refused = send(with_request_id(&revolut, Method::GET, "/v1/consents/x/status", None)).await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (400, Some("FORMAT_ERROR")),
        "problem+json banks refuse their way"
    );
    assert!(refused.header("x-request-id").is_some());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn location_is_absolute_and_follows_the_host() {
    let config = SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let seb = Raw::new(&sandbox, "seb");

    let created = seb.call(Method::POST, "/v1/consents", None, Some(consent_body())).await;
    assert_eq!(created.status, 201);
    let consent = created.body["consentId"].as_str().unwrap();
    let location = format!("{}/v1/consents/{consent}", sandbox.bank_url("seb"));
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["_links"]["self"]["href"], location.as_str());
    assert_eq!(created.header("aspsp-sca-approach"), Some("REDIRECT"));

    // Behind a name (a proxy, a container's port mapping) the links use the name the caller used.
    let proxied = send(
        seb.request(Method::POST, "/v1/consents")
            .header("Host", "bank.example:8443")
            .json(&consent_body()),
    )
    .await;
    let consent = proxied.body["consentId"].as_str().unwrap();
    assert_eq!(
        proxied.header("location"),
        Some(format!("http://bank.example:8443/seb/v1/consents/{consent}").as_str())
    );
    for link in ["self", "status", "scaStatus", "scaRedirect"] {
        let href = proxied.body["_links"][link]["href"].as_str().unwrap_or_default();
        assert!(href.starts_with("http://bank.example:8443/seb/"), "{link}: {href}");
    }
    // A Host that is no authority is not copied into a header: the links fall back to the listening address.
    let odd = send(
        seb.request(Method::POST, "/v1/consents")
            .header("Host", "bank.example/evil?")
            .json(&consent_body()),
    )
    .await;
    assert_eq!(odd.status, 201, "{}", odd.body);
    let location = odd.header("location").unwrap_or_default();
    assert!(location.starts_with(&sandbox.bank_url("seb")), "{location}");

    let started = seb
        .call(
            Method::POST,
            &format!("/v1/consents/{consent}/authorisations"),
            None,
            Some(json!({})),
        )
        .await;
    assert_eq!(started.status, 201);
    assert_eq!(started.header("aspsp-sca-approach"), Some("REDIRECT"));
    assert_eq!(
        started.header("location"),
        None,
        "the spec gives an authorisation no Location"
    );

    let payment = json!({
        "debtorAccount": { "iban": "LT121000011101001000" },
        "instructedAmount": { "amount": "1.00", "currency": "EUR" },
        "creditorAccount": { "iban": "DE89370400440532013000" },
        "creditorName": "Bolt",
    });
    let initiated = send(
        seb.request(Method::POST, "/v1/payments/sepa-credit-transfers")
            .header("TPP-Decoupled-Preferred", "true")
            .json(&payment),
    )
    .await;
    assert_eq!(initiated.status, 201, "{}", initiated.body);
    let payment_id = initiated.body["paymentId"].as_str().unwrap();
    let location = format!(
        "{}/v1/payments/sepa-credit-transfers/{payment_id}",
        sandbox.bank_url("seb")
    );
    assert_eq!(initiated.header("location"), Some(location.as_str()));
    assert_eq!(initiated.header("aspsp-sca-approach"), Some("DECOUPLED"));
    assert!(
        initiated.body["_links"]["scaRedirect"].is_null(),
        "decoupled: nothing to redirect to"
    );
    let status_link = initiated.body["_links"]["scaStatus"]["href"].as_str().unwrap();
    assert!(
        status_link.starts_with(&format!("{location}/authorisations/")),
        "{status_link}"
    );
    sandbox.shutdown().await;
}

/// Every page of an account's transactions from 90 days back, following `_links.next`; the pages' bodies.
async fn all_pages(raw: &Raw, consent: &str, account: &str, query: &str) -> Vec<Value> {
    let from = (Utc::now().date_naive() - Days::new(90)).to_string();
    let mut url = format!(
        "{}/v1/accounts/{account}/transactions?bookingStatus=both&dateFrom={from}{query}",
        raw.base
    );
    let mut pages = Vec::new();
    loop {
        let page = send(
            raw.http
                .get(&url)
                .header("X-Request-ID", uuid::Uuid::new_v4().to_string())
                .header("PSU-IP-Address", "192.0.2.10")
                .header("Consent-ID", consent),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.body);
        let next = page.body["transactions"]["_links"]["next"]["href"]
            .as_str()
            .map(str::to_owned);
        pages.push(page.body);
        match next {
            Some(next) => url = next,
            None => return pages,
        }
    }
}

fn entries<'a>(pages: &'a [Value], list: &str) -> Vec<&'a Value> {
    pages
        .iter()
        .flat_map(|p| p["transactions"][list].as_array().into_iter().flatten())
        .collect()
}

#[tokio::test]
async fn the_four_banks_differ_as_real_banks_do() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();

    // Swedbank pages its transactions, 25 at a time, with the spec's paging links.
    let swedbank = Raw::new(&sandbox, "swedbank");
    let consent = swedbank.consent().await;
    let accounts = swedbank.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    assert_eq!(accounts.body["accounts"].as_array().map(Vec::len), Some(4));
    let eur = accounts.body["accounts"][0]["resourceId"].as_str().unwrap();
    let pages = all_pages(&swedbank, &consent, eur, "").await;
    assert!(pages.len() > 2, "{} pages", pages.len());
    for page in &pages[..pages.len() - 1] {
        let size =
            entries(std::slice::from_ref(page), "booked").len() + entries(std::slice::from_ref(page), "pending").len();
        assert_eq!(size, 25);
        let links = &page["transactions"]["_links"];
        assert!(
            links["first"]["href"]
                .as_str()
                .is_some_and(|h| h.ends_with("&pageIndex=0")),
            "{links}"
        );
        assert!(
            links["last"]["href"].is_string() && links["account"]["href"].is_string(),
            "{links}"
        );
    }
    assert!(pages[1]["transactions"]["_links"]["previous"]["href"].is_string());
    let mut ids: Vec<&str> = entries(&pages, "booked")
        .iter()
        .chain(&entries(&pages, "pending"))
        .map(|t| t["transactionId"].as_str().unwrap())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "no transaction on two pages");

    // SEB has a credit card account: no IBAN, a masked card number, cash account type CARD.
    let seb = Raw::new(&sandbox, "seb");
    let consent = seb.consent().await;
    let accounts = seb.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    let list = accounts.body["accounts"].as_array().unwrap();
    assert_eq!(list.len(), 4);
    let card = list
        .iter()
        .find(|a| a["cashAccountType"] == "CARD")
        .expect("a card account");
    assert!(card.get("iban").is_none(), "{card}");
    assert!(
        card["maskedPan"].as_str().is_some_and(|p| p.contains("******")),
        "{card}"
    );
    let card_id = card["resourceId"].as_str().unwrap();
    let balances = seb
        .call(
            Method::GET,
            &format!("/v1/accounts/{card_id}/balances"),
            Some(&consent),
            None,
        )
        .await;
    assert_eq!(balances.body["account"]["maskedPan"], card["maskedPan"]);
    let pages = all_pages(&seb, &consent, card_id, "").await;
    assert_eq!(pages.len(), 1, "SEB sends the whole report at once");
    assert!(entries(&pages, "booked").len() > 30, "card payments");
    // A TPP can still ask for pages.
    let paged = all_pages(&seb, &consent, card_id, "&itemsPerPage=10").await;
    assert!(paged.len() > 3);
    assert!(paged[0]["transactions"]["_links"]["next"]["href"]
        .as_str()
        .is_some_and(|h| h.contains("itemsPerPage=10")));

    // Luminor leaves out everything optional.
    let luminor = Raw::new(&sandbox, "luminor");
    let consent = luminor.consent().await;
    let accounts = luminor.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    for account in accounts.body["accounts"].as_array().unwrap() {
        for absent in ["name", "product", "cashAccountType", "status", "usage"] {
            assert!(account.get(absent).is_none(), "{absent}: {account}");
        }
        assert!(account["iban"].is_string() && account["resourceId"].is_string());
    }
    let eur = accounts.body["accounts"][0]["resourceId"].as_str().unwrap();
    let balances = luminor
        .call(
            Method::GET,
            &format!("/v1/accounts/{eur}/balances"),
            Some(&consent),
            None,
        )
        .await;
    let kinds: Vec<&str> = balances.body["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["balanceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["closingBooked", "interimAvailable"]);
    assert!(balances.body["balances"][0].get("referenceDate").is_none());
    let pages = all_pages(&luminor, &consent, eur, "").await;
    let pending = entries(&pages, "pending");
    assert!(!pending.is_empty());
    assert!(pending
        .iter()
        .all(|t| t.get("transactionId").is_none() && t["entryReference"].is_string()));
    let booked = entries(&pages, "booked");
    assert!(booked
        .iter()
        .all(|t| t["transactionId"].is_string() && t.get("bankTransactionCode").is_none()));

    // Revolut has one multicurrency account: currency XXX, balances and transactions in each of its currencies.
    let revolut = Raw::new(&sandbox, "revolut");
    let consent = revolut.consent().await;
    let accounts = revolut.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    let list = accounts.body["accounts"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["currency"], "XXX");
    let multi = list[0]["resourceId"].as_str().unwrap();
    let balances = revolut
        .call(
            Method::GET,
            &format!("/v1/accounts/{multi}/balances"),
            Some(&consent),
            None,
        )
        .await;
    assert_eq!(balances.body["account"]["currency"], "XXX");
    let mut currencies: Vec<&str> = balances.body["balances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["balanceType"] == "closingBooked")
        .map(|b| b["balanceAmount"]["currency"].as_str().unwrap())
        .collect();
    currencies.sort_unstable();
    assert_eq!(currencies, ["EUR", "GBP", "SEK", "USD"]);
    let pages = all_pages(&revolut, &consent, multi, "").await;
    let mut currencies: Vec<&str> = entries(&pages, "booked")
        .iter()
        .map(|t| t["transactionAmount"]["currency"].as_str().unwrap())
        .collect();
    currencies.sort_unstable();
    currencies.dedup();
    assert!(currencies.len() >= 3, "{currencies:?}");
    let details = revolut
        .call(Method::GET, &format!("/v1/accounts/{multi}"), Some(&consent), None)
        .await;
    assert_eq!(
        (details.status, &details.body["account"]["currency"]),
        (200, &json!("XXX"))
    );
    sandbox.shutdown().await;
}

/// How an entry served is broken, found by looking at it: (field, fault) as the counters name them.
fn defects(kind: &str, entry: &Value) -> Vec<(String, String)> {
    let bad_iban = |value: &Value| {
        value
            .as_str()
            .is_some_and(|i| consentry_domain::Iban::parse(i).is_err())
    };
    let mut found = Vec::new();
    let mut note = |field: &str, fault: &str| found.push((field.to_owned(), fault.to_owned()));
    if kind == "accounts" {
        if bad_iban(&entry["iban"]) {
            note("iban", "ibanChecksum");
        }
        match entry.get("currency") {
            None => note("currency", "missingRequiredField"),
            Some(c) if c == "ABC" => note("currency", "unknownCurrency"),
            Some(_) => {}
        }
        if entry.get("resourceId").is_none() {
            note("resourceId", "missingResourceId");
        }
        return found;
    }
    let amount = if kind == "balances" {
        "balanceAmount"
    } else {
        "transactionAmount"
    };
    match entry.get(amount) {
        None => note(amount, "missingRequiredField"),
        Some(value) => {
            if value["currency"] == "ABC" {
                note(&format!("{amount}.currency"), "unknownCurrency");
            }
            let decimals = value["amount"]
                .as_str()
                .and_then(|a| a.split_once('.'))
                .map_or(0, |(_, d)| d.len());
            if decimals == 3 {
                note(&format!("{amount}.amount"), "threeDecimals");
            }
        }
    }
    for side in ["creditorAccount", "debtorAccount"] {
        if bad_iban(&entry[side]["iban"]) {
            note(&format!("{side}.iban"), "counterpartyIbanChecksum");
        }
    }
    found
}

/// What the counters should list for one answer's list: (resource, list, index, entry, field, fault).
fn expected_breakage(resource: &str, list: &str, served: &[Value]) -> Vec<Value> {
    let kind = match list {
        "accounts" => "accounts",
        "balances" => "balances",
        _ => "transactions",
    };
    let id_key = match kind {
        "accounts" => "resourceId",
        "transactions" => "transactionId",
        _ => "",
    };
    served
        .iter()
        .enumerate()
        .flat_map(|(index, entry)| {
            let id = entry
                .get(id_key)
                .and_then(Value::as_str)
                .map_or_else(|| index.to_string(), str::to_owned);
            defects(kind, entry).into_iter().map(move |(field, fault)| {
                json!({ "resource": resource, "list": list, "index": index, "entry": id, "field": field, "fault": fault })
            })
        })
        .collect()
}

#[tokio::test]
async fn malformed_entries_are_served_as_set_and_listed_in_the_counters() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let seb = Raw::new(&sandbox, "seb");
    let consent = seb.consent().await;
    let clean = seb.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    set_faults(&sandbox, "seb", json!({ "malformed_entry_rate": 0.4 })).await;
    assert_eq!(admin(&sandbox, "seb", "faults").await["malformed_entry_rate"], 0.4);

    // Read everything once, as a sync would, and work out from the answers what is broken.
    let mut expected = Vec::new();
    let mut served_entries = 0;
    let accounts = seb.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    let listed = accounts.body["accounts"].as_array().unwrap().clone();
    served_entries += listed.len();
    expected.extend(expected_breakage("accounts", "accounts", &listed));
    for account in clean.body["accounts"].as_array().unwrap() {
        let id = account["resourceId"].as_str().unwrap();
        let resource = format!("accounts/{id}/balances");
        let balances = seb
            .call(Method::GET, &format!("/v1/{resource}"), Some(&consent), None)
            .await;
        let served = balances.body["balances"].as_array().unwrap().clone();
        served_entries += served.len();
        expected.extend(expected_breakage(&resource, "balances", &served));
        let pages = all_pages(&seb, &consent, id, "").await;
        for list in ["booked", "pending"] {
            let served: Vec<Value> = entries(&pages, list).into_iter().cloned().collect();
            served_entries += served.len();
            expected.extend(expected_breakage(&format!("accounts/{id}/transactions"), list, &served));
        }
    }
    let counted = admin(&sandbox, "seb", "counters").await["malformedEntries"].clone();
    assert_eq!(
        counted,
        Value::Array(expected.clone()),
        "the counters list exactly what was served broken"
    );
    let share = expected.len() as f64 / served_entries as f64;
    assert!(
        (0.25..0.55).contains(&share),
        "{} of {served_entries} broken",
        expected.len()
    );
    let mut faults: Vec<&str> = expected.iter().map(|e| e["fault"].as_str().unwrap()).collect();
    faults.sort_unstable();
    faults.dedup();
    assert_eq!(
        faults,
        [
            "counterpartyIbanChecksum",
            "ibanChecksum",
            "missingRequiredField",
            "missingResourceId",
            "threeDecimals",
            "unknownCurrency"
        ],
        "every way of breaking is served"
    );

    // A bad record stays bad: the same entries break the same way on the next read.
    let again = seb.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    assert_eq!(again.body["accounts"], Value::Array(listed));
    let counted = admin(&sandbox, "seb", "counters").await["malformedEntries"]
        .as_array()
        .unwrap()
        .len();
    let broken_accounts = expected.iter().filter(|e| e["resource"] == "accounts").count();
    assert_eq!(counted, expected.len() + broken_accounts);

    set_faults(&sandbox, "seb", json!({ "malformed_entry_rate": 0.0 })).await;
    let healed = seb.call(Method::GET, "/v1/accounts", Some(&consent), None).await;
    assert_eq!(healed.body, clean.body);
    let after = admin(&sandbox, "seb", "counters").await["malformedEntries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, counted, "nothing broken at rate 0");
    let refused = reqwest::Client::new()
        .put(format!("{}/admin/faults", sandbox.bank_url("seb")))
        .json(&json!({ "malformed_entry_rate": 1.5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    sandbox.shutdown().await;
}
