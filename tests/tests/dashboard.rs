//! The operator dashboard in a real browser, on both stores: Debian's chromium (headless) opens `/dashboard` with
//! a tenant's key and a user in the URL fragment, runs the page's script against the API, and dumps the DOM; the
//! test reads the values the page marks (`data-testid`) and checks each equals what the API answers: consent
//! statuses and days left, every balance, the base-currency total and its rates' date, spending per category of
//! the month shown, the first page of transactions, the payments and their status history. A wrong key shows
//! the API's refusal instead of data. chromium is installed by `scripts/test`; without it this test fails.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use consentry::RequestContext;
use consentry_domain::bank::PsuContext;
use consentry_domain::UserId;
use consentry_sandbox::SandboxConfig;
use consentry_tests::{on_both_stores, payment_input, settle, Backend, World};
use serde_json::Value;

/// The page's own limit per page of transactions (`TRANSACTIONS_PER_PAGE` in app.js).
const PAGE_LIMIT: usize = 50;

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("valid time")
        .and_utc()
}

/// Debian's chromium: `$CHROMIUM`, else `chromium` or `chromium-browser` on the PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed, and this test needs a real browser: run scripts/test, which installs \
                 Debian's chromium package (apt-get install chromium), or set CHROMIUM to a chromium binary"
            )
        })
}

/// Loads `url` in headless chromium until the page's script is done (virtual time runs out) and returns the
/// DOM it leaves, from a profile of its own that is removed afterwards.
async fn dump_dom(url: String) -> String {
    let browser = chromium();
    tokio::task::spawn_blocking(move || {
        let profile = std::env::temp_dir().join(format!("consentry-dashboard-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).expect("browser profile directory");
        let (dom_file, log_file) = (profile.join("dom.html"), profile.join("chromium.log"));
        let mut child = Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--virtual-time-budget=10000",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&url)
            .stdout(std::fs::File::create(&dom_file).expect("DOM file"))
            .stderr(std::fs::File::create(&log_file).expect("log file"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} does not start: {e}; run scripts/test to install chromium",
                    browser.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(90);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for chromium") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                panic!("chromium did not finish within 90 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let dom = std::fs::read_to_string(&dom_file).expect("the dumped DOM");
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&profile);
        assert!(status.success(), "chromium failed ({status}): {log}\nDOM so far: {dom}");
        dom
    })
    .await
    .expect("the browser thread")
}

/// An element of the dumped DOM: its attributes and its own text (up to its first child element).
#[derive(Debug)]
struct Element {
    attributes: HashMap<String, String>,
    text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> &str {
        self.attributes
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} on {self:?}"))
    }
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The elements marked `data-testid="{id}"`, in document order. The serialised DOM quotes every attribute value
/// with `"` and escapes `"` inside it, which is all this reader relies on.
fn by_test_id(dom: &str, id: &str) -> Vec<Element> {
    let marker = format!("data-testid=\"{id}\"");
    dom.match_indices(&marker)
        .map(|(at, _)| {
            let open = dom[..at].rfind('<').expect("tag start");
            let close = at + dom[at..].find('>').expect("tag end");
            let tag = &dom[open + 1..close];
            let mut attributes = HashMap::new();
            let mut rest = tag.split_once(char::is_whitespace).map_or("", |(_, rest)| rest);
            while let Some((name, after)) = rest.split_once("=\"") {
                let (value, after) = after.split_once('"').expect("closing quote");
                attributes.insert(name.trim().to_owned(), unescape(value));
                rest = after;
            }
            let text_end = close + 1 + dom[close + 1..].find('<').unwrap_or(0);
            Element {
                attributes,
                text: unescape(&dom[close + 1..text_end]),
            }
        })
        .collect()
}

/// What the API answers the test itself, with the user present (so the test's reads are not counted against
/// the consents' unattended budget, which the page's own reads use).
async fn api(world: &World, key: &str, path: &str) -> Value {
    let response = world
        .browser
        .get(format!("{}{path}", world.server.base_url()))
        .bearer_auth(key)
        .header("PSU-IP-Address", "192.0.2.10")
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    response.json().await.expect("JSON")
}

/// An amount as the page prints it: the API's own strings.
fn money(value: &Value) -> String {
    format!(
        "{} {}",
        value["amount"].as_str().expect("amount"),
        value["currency"].as_str().expect("currency")
    )
}

async fn the_dashboard_shows_what_the_api_answers(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (tenant, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let ctx = RequestContext::user(tenant, user);
    for bank in ["swedbank", "seb"] {
        let consent = world.valid_consent(&ctx, bank).await;
        world
            .engine
            .sync_consent(&ctx, consent, &PsuContext::present("192.0.2.10"))
            .await
            .expect("sync");
    }
    let payment = world
        .engine
        .request_payment(&ctx, payment_input("swedbank", "1234.56"))
        .await
        .expect("payment");
    world
        .engine
        .send_payment(&ctx, payment, "192.0.2.10", None)
        .await
        .expect("payment sent");
    // The sandbox moves the payment on as time passes: a history of more than one status.
    for _ in 0..3 {
        world.clock.advance(chrono::Duration::seconds(30));
        world.engine.poll_payment_status(&ctx, payment).await.expect("polled");
    }
    settle(&world.engine).await;

    // The page and its files come with the policy that forbids inline and foreign scripts, and are not cached.
    let page = world
        .browser
        .get(format!("{}/dashboard", world.server.base_url()))
        .send()
        .await
        .expect("the page");
    assert_eq!(page.status().as_u16(), 200);
    let policy = page.headers()["content-security-policy"].to_str().expect("policy");
    assert!(
        policy.contains("script-src 'self'") && policy.contains("style-src 'self'"),
        "{policy}"
    );
    assert_eq!(page.headers()["cache-control"], "no-store");
    for (file, kind) in [("app.js", "text/javascript"), ("app.css", "text/css")] {
        let asset = world
            .browser
            .get(format!("{}/dashboard/{file}", world.server.base_url()))
            .send()
            .await
            .expect("asset");
        assert_eq!(asset.status().as_u16(), 200, "{file}");
        let content_type = asset.headers()["content-type"].to_str().expect("type");
        assert!(content_type.starts_with(kind), "{file}: {content_type}");
    }

    let dom = dump_dom(format!("{}/dashboard#key={key}&user={user}", world.server.base_url())).await;
    assert!(
        dom.contains(r#"<body data-state="ready">"#),
        "every section loaded: {dom}"
    );
    assert!(!dom.contains(&key), "the key is never written into the page");
    for missing in [">null", ">undefined", ">NaN"] {
        assert!(!dom.contains(missing), "no {missing} shown: {dom}");
    }
    let users = format!("/v1/users/{user}");

    // Connections: each consent's status and the days it has left.
    let consents = api(&world, &key, &format!("{users}/consents")).await;
    let consents = consents["consents"].as_array().expect("consents");
    assert_eq!(consents.len(), 2);
    let rows = by_test_id(&dom, "consent");
    let statuses = by_test_id(&dom, "consent-status");
    let days = by_test_id(&dom, "consent-days-left");
    assert_eq!((rows.len(), statuses.len(), days.len()), (2, 2, 2), "{dom}");
    for consent in consents {
        let id = consent["consent"].as_str().expect("id");
        let row = rows
            .iter()
            .position(|row| row.attribute("data-consent") == id)
            .unwrap_or_else(|| panic!("consent {id} on the page"));
        assert_eq!(statuses[row].text, consent["status"].as_str().expect("status"));
        assert_eq!(days[row].attribute("data-days"), consent["daysLeft"].to_string());
        assert_eq!(days[row].text, format!("{} days left", consent["daysLeft"]));
    }

    // Balances: every account's preferred balance, and the total in EUR with its rates' date.
    let balances = api(&world, &key, &format!("{users}/balances?base=EUR")).await;
    let accounts = balances["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 8, "{balances}");
    let shown: HashMap<String, String> = by_test_id(&dom, "balance")
        .into_iter()
        .map(|element| (element.attribute("data-account").to_owned(), element.text))
        .collect();
    let expected: HashMap<String, String> = accounts
        .iter()
        .map(|account| {
            let id = format!(
                "{}/{}",
                account["consentId"].as_str().expect("consent"),
                account["accountId"].as_str().expect("account")
            );
            (id, money(&account["balance"]))
        })
        .collect();
    assert_eq!(shown, expected);
    let total = by_test_id(&dom, "total");
    assert_eq!(total.len(), 1, "{dom}");
    assert_eq!(total[0].text, money(&balances["total"]["amount"]));
    assert_eq!(
        by_test_id(&dom, "rates-date")[0].text,
        balances["total"]["ratesDate"].as_str().expect("date")
    );

    // Transactions: the first page, row for row.
    let listed = api(&world, &key, &format!("{users}/transactions?limit={PAGE_LIMIT}")).await;
    let transactions = listed["transactions"].as_array().expect("transactions");
    assert!(!transactions.is_empty(), "{listed}");
    let amounts: Vec<String> = by_test_id(&dom, "transaction-amount")
        .into_iter()
        .map(|e| e.text)
        .collect();
    let expected: Vec<String> = transactions.iter().map(|t| money(&t["amount"])).collect();
    assert_eq!(amounts, expected);
    let next = by_test_id(&dom, "next-page");
    assert_eq!(
        next[0].attributes.contains_key("disabled"),
        listed["next"].is_null(),
        "a next page is offered exactly when the API has one"
    );

    // Spending: the newest month with booked transactions, per category, flow and currency.
    let chart = by_test_id(&dom, "spending-chart");
    let month = chart[0].attribute("data-month");
    let newest_booked = transactions
        .iter()
        .find(|t| t["status"] == "booked")
        .and_then(|t| t["bookingDate"].as_str())
        .expect("a booked transaction");
    assert_eq!(month, &newest_booked[..7]);
    let spending = api(&world, &key, &format!("{users}/spending?month={month}")).await;
    let lines = spending["spending"].as_array().expect("lines");
    assert!(!lines.is_empty(), "{spending}");
    let shown: Vec<(String, String, String)> = by_test_id(&dom, "spending-amount")
        .into_iter()
        .map(|e| {
            (
                e.attribute("data-category").to_owned(),
                e.attribute("data-flow").to_owned(),
                e.text,
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = lines
        .iter()
        .map(|line| {
            (
                line["category"].as_str().expect("category").to_owned(),
                line["flow"].as_str().expect("flow").to_owned(),
                money(&line["total"]),
            )
        })
        .collect();
    assert_eq!(shown, expected);

    // Payments: the status and every status reached.
    let payments = api(&world, &key, &format!("{users}/payments")).await;
    let order = &payments["payments"][0];
    let rows = by_test_id(&dom, "payment");
    assert_eq!(rows.len(), 1, "{dom}");
    assert_eq!(rows[0].attribute("data-payment"), payment.to_string());
    assert_eq!(by_test_id(&dom, "payment-amount")[0].text, "1234.56 EUR");
    let status = order["status"].as_str().map_or("—".to_owned(), str::to_owned);
    assert_eq!(by_test_id(&dom, "payment-status")[0].text, status);
    let history: Vec<String> = by_test_id(&dom, "payment-history")
        .into_iter()
        .map(|e| e.text)
        .collect();
    let expected: Vec<String> = order["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|change| {
            format!(
                "{} at {}",
                change["status"].as_str().expect("status"),
                change["at"].as_str().expect("at")
            )
        })
        .collect();
    assert!(!expected.is_empty(), "{order}");
    assert_eq!(history, expected);

    // A wrong key shows the API's refusal, and no data.
    let refused = dump_dom(format!(
        "{}/dashboard#key=cs_wrong&user={user}",
        world.server.base_url()
    ))
    .await;
    assert!(refused.contains(r#"<body data-state="failed">"#), "{refused}");
    let errors = by_test_id(&refused, "section-error");
    assert_eq!(errors.len(), 5, "{refused}");
    assert!(errors.iter().all(|e| e.text.starts_with("401")), "{errors:?}");
    assert!(by_test_id(&refused, "balance").is_empty());
}

on_both_stores!(the_dashboard, the_dashboard_shows_what_the_api_answers);
