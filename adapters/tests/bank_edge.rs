//! The Berlin Group client at the bank edge, against a local mock bank that misbehaves the ways real banks do:
//! `next` links to another host or another bank's path, links that repeat, listings that never end, redirects,
//! answers too large or too slow for one listing, and the spec's own example answers (whose IBANs fail their
//! checksum). Every case ends in a clear error or a precise per-entry problem, and no request leaves the bank's
//! base URL: a second server stands for "elsewhere" and counts what reaches it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use chrono::NaiveDate;
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::BankConfig;
use consentry_domain::bank::{BankError, BankPort, BookingStatus, PsuContext, TransactionQuery};
use consentry_domain::AccountCurrency;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// How the mock bank answers a request: path and query in, status, headers and body out.
type Script = Arc<dyn Fn(&str, Option<&str>) -> Response + Send + Sync>;

/// A bank at `http://127.0.0.1:{port}/bank`, answering with `script`; counts its requests.
struct MockBank {
    origin: String,
    hits: Arc<AtomicUsize>,
}

impl MockBank {
    async fn start(script: Script) -> Self {
        Self::start_slow(script, Duration::ZERO).await
    }

    /// A bank that takes `delay` over every answer.
    async fn start_slow(script: Script, delay: Duration) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = Router::new()
            .fallback(move |State(()): State<()>, request: Request| {
                let script = script.clone();
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    script(request.uri().path(), request.uri().query())
                }
            })
            .with_state(());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            origin: format!("http://{address}"),
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn config(&self) -> BankConfig {
        BankConfig::new("mock", "Mock Bank", &format!("{}/bank", self.origin)).expect("config")
    }
}

fn client(config: BankConfig) -> BerlinGroupClient {
    BerlinGroupClient::new(config).expect("client")
}

/// How listing account `a1`'s transactions at the bank of `config` fails.
async fn listing_error(config: BankConfig) -> BankError {
    client(config)
        .transactions("consent", "a1", &query(), &PsuContext::absent())
        .await
        .expect_err("the listing fails")
}

fn query() -> TransactionQuery {
    TransactionQuery {
        booking_status: BookingStatus::Both,
        date_from: NaiveDate::from_ymd_opt(2026, 1, 1).expect("date"),
        date_to: None,
    }
}

fn page(n: usize, next: Option<String>) -> Response {
    let mut report = json!({ "booked": [{
        "transactionId": format!("t{n}"),
        "bookingDate": "2026-03-01",
        "transactionAmount": { "currency": "EUR", "amount": "-1.00" }
    }]});
    if let Some(href) = next {
        report["_links"] = json!({ "next": { "href": href } });
    }
    Json(json!({ "transactions": report })).into_response()
}

/// The page number in `?page=N`, 1 without one.
fn page_number(query: Option<&str>) -> usize {
    query
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("page=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

async fn elsewhere() -> MockBank {
    MockBank::start(Arc::new(|_, _| page(99, None))).await
}

#[tokio::test]
async fn a_next_link_to_another_host_is_refused_and_never_requested() {
    let other = elsewhere().await;
    let target = format!("{}/bank/v1/accounts/a1/transactions?page=2", other.origin);
    let bank = MockBank::start(Arc::new(move |_, _| page(1, Some(target.clone())))).await;
    let error = listing_error(bank.config()).await;
    assert!(
        matches!(&error, BankError::LinkRefused(text) if text.contains("outside the bank's base URL")),
        "{error}"
    );
    assert!(
        !error.to_string().contains("page=2"),
        "the refused link's query is not repeated: {error}"
    );
    assert_eq!(bank.hits(), 1);
    assert_eq!(other.hits(), 0, "nothing left the bank's base URL");
}

#[tokio::test]
async fn a_next_link_to_another_path_of_the_same_host_is_refused() {
    let bank = MockBank::start(Arc::new(|path, _| {
        if path.starts_with("/bank/") {
            page(1, Some("/otherbank/v1/accounts/a1/transactions?page=2".into()))
        } else {
            page(2, None)
        }
    }))
    .await;
    let error = listing_error(bank.config()).await;
    assert!(matches!(error, BankError::LinkRefused(_)), "{error}");
    assert_eq!(bank.hits(), 1, "the other path was never requested");
}

#[tokio::test]
async fn relative_next_links_within_the_bank_are_followed() {
    let bank = MockBank::start(Arc::new(|_, query| {
        let n = page_number(query);
        let next = (n < 3).then(|| format!("/bank/v1/accounts/a1/transactions?page={}", n + 1));
        page(n, next)
    }))
    .await;
    let report = client(bank.config())
        .transactions("consent", "a1", &query(), &PsuContext::absent())
        .await
        .expect("three pages");
    assert_eq!(report.pages, 3);
    let ids: Vec<_> = report.booked.iter().filter_map(|t| t.transaction_id.clone()).collect();
    assert_eq!(ids, ["t1", "t2", "t3"]);
}

#[tokio::test]
async fn a_next_link_that_repeats_ends_the_listing() {
    let bank = MockBank::start(Arc::new(|_, query| {
        // Every page names page 2 as the next one, page 2 included.
        page(
            page_number(query),
            Some("/bank/v1/accounts/a1/transactions?page=2".into()),
        )
    }))
    .await;
    let error = listing_error(bank.config()).await;
    assert!(
        matches!(&error, BankError::LinkRefused(text) if text.contains("already read")),
        "{error}"
    );
    assert_eq!(
        bank.hits(),
        2,
        "page 1 and page 2; page 2's link to itself is not followed"
    );
}

#[tokio::test]
async fn a_listing_of_two_thousand_pages_stops_at_the_page_budget() {
    let bank = MockBank::start(Arc::new(|_, query| {
        let n = page_number(query);
        let next = (n < 2_000).then(|| format!("/bank/v1/accounts/a1/transactions?page={}", n + 1));
        page(n, next)
    }))
    .await;
    let config = bank.config();
    let budget = config.max_pages;
    let error = listing_error(config).await;
    assert!(
        matches!(&error, BankError::OverBudget(text) if text.contains(&format!("more than {budget} pages"))),
        "{error}"
    );
    assert_eq!(bank.hits(), budget);
}

#[tokio::test]
async fn a_listing_over_its_bytes_or_its_deadline_stops() {
    let bank = MockBank::start(Arc::new(|_, query| {
        let n = page_number(query);
        page(n, Some(format!("/bank/v1/accounts/a1/transactions?page={}", n + 1)))
    }))
    .await;
    let mut config = bank.config();
    config.max_listing_bytes = 1_000;
    let error = listing_error(config).await;
    assert!(
        matches!(&error, BankError::OverBudget(text) if text.contains("bytes")),
        "{error}"
    );

    let slow = MockBank::start_slow(
        Arc::new(|_, query| {
            let n = page_number(query);
            page(n, Some(format!("/bank/v1/accounts/a1/transactions?page={}", n + 1)))
        }),
        Duration::from_millis(150),
    )
    .await;
    let mut config = slow.config();
    config.listing_timeout_ms = 500;
    let error = listing_error(config).await;
    assert!(
        matches!(&error, BankError::OverBudget(text) if text.contains("within 500 ms")),
        "{error}"
    );
    assert!(
        slow.hits() <= 5,
        "the deadline holds for the whole listing: {} pages",
        slow.hits()
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let other = elsewhere().await;
    let location = format!("{}/bank/v1/accounts", other.origin);
    let bank = MockBank::start(Arc::new(move |_, _| {
        (StatusCode::FOUND, [(header::LOCATION, location.clone())]).into_response()
    }))
    .await;
    let error = client(bank.config())
        .accounts("consent", &PsuContext::present("192.0.2.1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, BankError::Redirected { status: 302, location } if location.contains(&other.origin)),
        "{error}"
    );
    assert!(
        error.outcome_unknown(),
        "a redirect says nothing reliable about what the bank did"
    );
    assert_eq!(
        other.hits(),
        0,
        "the consent id and the user's address never reached the other host"
    );
}

/// The spec's `components.examples`, as JSON.
fn spec_examples() -> &'static Value {
    static EXAMPLES: OnceLock<Value> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/spec/psd2-api_v1.3.12-2022-07-06.yaml"
        );
        let text = std::fs::read_to_string(path).expect("the Berlin Group spec is in shared/spec beside the workspace");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("the spec is YAML");
        serde_json::to_value(&yaml["components"]["examples"]).expect("the examples convert to JSON")
    })
}

fn example(name: &str) -> Value {
    spec_examples()[name]["value"].clone()
}

/// A bank answering the account-information endpoints with the spec's own examples.
async fn spec_bank(accounts: &'static str, balances: &'static str, transactions: &'static str) -> MockBank {
    MockBank::start(Arc::new(move |path, _| {
        let name = if path.ends_with("/balances") {
            balances
        } else if path.ends_with("/transactions") {
            transactions
        } else {
            accounts
        };
        Json(example(name)).into_response()
    }))
    .await
}

#[tokio::test]
async fn the_spec_examples_are_read_entry_by_entry() {
    let bank = spec_bank(
        "accountListExample3",
        "balancesExample2_MulticurrencyAccount",
        "transactionsExample3_MulticurrencyAccount_json",
    )
    .await;
    let client = client(bank.config());
    let psu = PsuContext::present("192.0.2.1");

    // The spec's example IBANs (DE2310010010123456788) fail their checksum: each account is kept out and
    // reported, the answer itself is not lost.
    let accounts = client.accounts("consent", &psu).await.expect("the answer is read");
    assert!(accounts.entries.is_empty());
    assert_eq!(accounts.problems.len(), 3);
    for problem in &accounts.problems {
        assert_eq!(problem.resource, "accounts");
        assert_eq!(problem.field, "iban");
        assert!(problem.entry.starts_with("3dc3d5b3-7023-4848-9853"), "{problem}");
    }

    // A multicurrency account's balances come in several currencies; all are kept.
    let balances = client.balances("consent", "acc", &psu).await.expect("balances");
    assert!(balances.problems.is_empty(), "{:?}", balances.problems);
    let currencies: Vec<&str> = balances.entries.iter().map(|b| b.amount.currency().code()).collect();
    assert_eq!(currencies, ["EUR", "EUR", "USD", "USD"]);

    // Counterparty IBANs are kept as sent; "100" USD is an amount without decimals, which is fine.
    let report = client
        .transactions("consent", "acc", &query(), &psu)
        .await
        .expect("transactions");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!((report.booked.len(), report.pending.len()), (3, 1));
    assert_eq!(report.booked[1].debtor_iban.as_deref(), Some("NL76RABO0359400371"));
    assert_eq!(report.booked[2].amount.amount().to_string(), "100.00");
}

#[tokio::test]
async fn every_spec_example_of_the_account_information_answers_reads_without_error() {
    let cases = [
        (
            "accountListExample1",
            "balancesExample1_RegularAccount",
            "transactionsExample1_RegularAccount_json",
        ),
        (
            "accountListExample2",
            "balancesExample3_RegularAccount",
            "transactionsExample2_Download_json",
        ),
    ];
    for (accounts, balances, transactions) in cases {
        let bank = spec_bank(accounts, balances, transactions).await;
        let client = client(bank.config());
        let psu = PsuContext::present("192.0.2.1");
        let listed = client.accounts("consent", &psu).await.expect(accounts);
        assert_eq!(listed.entries.len() + listed.problems.len(), 2, "{accounts}");
        let balances = client.balances("consent", "acc", &psu).await.expect(balances);
        assert!(balances.problems.is_empty(), "{:?}", balances.problems);
        assert!(!balances.entries.is_empty());
        let report = client
            .transactions("consent", "acc", &query(), &psu)
            .await
            .expect(transactions);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

#[tokio::test]
async fn a_multicurrency_account_is_kept() {
    let bank = MockBank::start(Arc::new(|_, _| {
        Json(json!({ "accounts": [
            { "resourceId": "multi", "iban": "DE89370400440532013000", "currency": "XXX" },
            { "resourceId": "card", "maskedPan": "525412******3241", "currency": "EUR", "cashAccountType": "CARD" }
        ]}))
        .into_response()
    }))
    .await;
    let listing = client(bank.config())
        .accounts("consent", &PsuContext::present("192.0.2.1"))
        .await
        .expect("accounts");
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.entries[0].currency, AccountCurrency::Multi);
    assert!(listing.entries[1].iban.is_none());
}
