//! Support for Consentry's end-to-end tests, which run every scenario on both stores: a throw-away database per
//! test (an SQLite file, or a PostgreSQL database created on the server `DATABASE_URL` names and dropped when
//! the test ends, even when it panics), and the `on_both_stores!` macro that makes one test per store.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use consentry::banks::Banks;
use consentry::config::sandbox_banks;
use consentry::http::{HttpConfig, HttpServer};
use consentry::{ConsentInput, Engine, PaymentInput};
use consentry_adapters::SimulatedClock;
use consentry_domain::consent::ConsentAccess;
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
pub use consentry_store::Backend;
use consentry_store::{Database, ScratchDatabase};

/// The PostgreSQL server tests create their databases on, when `DATABASE_URL` names none.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of one test's own, removed when dropped (even when the test panics).
pub struct TestDb {
    scratch: ScratchDatabase,
}

fn postgres_server_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

impl TestDb {
    pub async fn create(backend: Backend) -> Self {
        let server = postgres_server_url();
        let scratch = ScratchDatabase::create(backend, &server, "test")
            .await
            .unwrap_or_else(|e| panic!("{backend} at {server} is needed for this test: {e}"));
        Self { scratch }
    }

    pub fn url(&self) -> &str {
        self.scratch.url()
    }

    pub async fn database(&self) -> Database {
        Database::connect(Some(self.url()))
            .await
            .expect("connect to test database")
    }

    /// An engine on this database with a simulated clock starting at `start`.
    pub async fn engine(&self, start: DateTime<Utc>) -> (Engine, Arc<SimulatedClock>) {
        let clock = Arc::new(SimulatedClock::starting_at(start));
        let engine = Engine::open(Some(self.url()), clock.clone())
            .await
            .expect("open engine");
        (engine, clock)
    }
}

/// Where engines of [`TestDb::engine_at_start`] begin: 2026-01-05 08:00 UTC.
/// Applies every stored event to every projection: catches up until no projection lags, so events that were
/// still behind the feed's horizon (a transaction open somewhere) are applied too.
pub async fn settle(engine: &Engine) {
    let runner = engine.projection_runner();
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            runner.catch_up().await.expect("catch up");
            let statuses = runner.status().await.expect("status");
            if statuses.iter().all(|s| s.lag == 0) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("projections catch up");
}

/// A recurring all-PSD2 consent at `bank` for four reads a day, as most tests request one.
pub fn consent_input(bank: &str, valid_until: NaiveDate) -> ConsentInput {
    ConsentInput {
        bank: bank.into(),
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until,
        frequency_per_day: 4,
        renewal_of: None,
    }
}

/// A SEPA credit transfer of `amount` euros at `bank` to Ignitis UAB, as most tests request one.
pub fn payment_input(bank: &str, amount: &str) -> PaymentInput {
    PaymentInput {
        bank: bank.into(),
        service: PaymentService::Payments,
        product: PaymentProduct::SepaCreditTransfers,
        debtor_iban: "LT121000011101001000".into(),
        creditor_iban: "LT737300010000000003".into(),
        creditor_name: "Ignitis UAB".into(),
        amount: amount.into(),
        currency: "EUR".into(),
        remittance_information: None,
    }
}

pub fn default_start() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("valid start")
        .and_utc()
}

impl TestDb {
    /// An engine on this database with a simulated clock at [`default_start`].
    pub async fn engine_at_start(&self) -> (Engine, Arc<SimulatedClock>) {
        self.engine(default_start()).await
    }
}

/// Every row of `projections`' tables as text, sorted per table, to compare read models between runs.
pub async fn dump_read_models(database: &Database, projections: &[consentry_projections::Projection]) -> Vec<String> {
    let mut rows = Vec::new();
    for projection in projections {
        for table in projection.tables() {
            let mut table_rows: Vec<String> = match database {
                Database::Postgres(pool) => sqlx::query_scalar(&format!("SELECT t::text FROM {table} t"))
                    .fetch_all(pool)
                    .await
                    .expect("dump"),
                Database::Sqlite(pool) => {
                    let columns: Vec<String> =
                        sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                            .fetch_all(pool)
                            .await
                            .expect("columns");
                    let row = columns
                        .iter()
                        .map(|c| format!("quote({c})"))
                        .collect::<Vec<_>>()
                        .join("||','||");
                    sqlx::query_scalar(&format!("SELECT {row} FROM {table}"))
                        .fetch_all(pool)
                        .await
                        .expect("dump")
                }
            };
            table_rows.sort();
            rows.extend(table_rows.into_iter().map(|r| format!("{table}: {r}")));
        }
    }
    rows
}

/// A small deterministic generator (xorshift), seeded per test, so runs are random yet reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Counts the rows of the event log.
pub async fn count_events(database: &Database) -> i64 {
    let query = "SELECT count(*) FROM events";
    match database {
        Database::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
        Database::Sqlite(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
    }
    .expect("count events")
}

/// `on_both_stores!(name, scenario)` makes `name::sqlite` and `name::postgres`, each running
/// `scenario(Backend)` on a multi-threaded runtime.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$scenario($crate::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$scenario($crate::Backend::Postgres).await;
            }
        }
    };
}

/// An engine on a test database, wired to an in-process sandbox bank and serving its HTTP interface, all on the
/// same simulated clock.
pub struct World {
    pub engine: Arc<Engine>,
    pub clock: Arc<SimulatedClock>,
    pub sandbox: SandboxHandle,
    pub server: HttpServer,
    pub browser: reqwest::Client,
    /// The API's OpenAPI document, fetched at the first answer checked against it.
    document: tokio::sync::OnceCell<serde_json::Value>,
    _db: TestDb,
}

/// An answer of the API: its status, headers and JSON body (`Null` when it has none).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Whether `path` (no query) is an instance of the OpenAPI path `template` (`/v1/users/{user}/...`).
fn path_matches(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template
            .iter()
            .zip(&path)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Checks an answer against the OpenAPI document: its path, method and status are documented, and its body
/// (JSON or problem) is valid against the documented schema, with the document's components for `$ref`s.
pub fn check_against_document(
    document: &serde_json::Value,
    method: &str,
    path: &str,
    status: u16,
    content_type: &str,
    body: &serde_json::Value,
) {
    let path = path.split('?').next().unwrap_or(path);
    let paths = document["paths"].as_object().expect("paths");
    let Some((_, item)) = paths.iter().find(|(template, _)| path_matches(template, path)) else {
        // An unknown route: answered by the fallback, as a problem.
        assert_eq!(status, 404, "{method} {path} is not in the document");
        assert_eq!(body["type"], "https://consentry.dev/problems/unknown-route", "{body}");
        return;
    };
    let Some(operation) = item.get(method.to_lowercase()) else {
        assert_eq!(status, 405, "{method} {path} is not in the document");
        assert_eq!(
            body["type"], "https://consentry.dev/problems/method-not-allowed",
            "{body}"
        );
        return;
    };
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which the document does not list: {body}"
    );
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if body.is_null() && response.get("content").is_none() {
        return;
    }
    let Some(schema) = response["content"].get(media).map(|c| c["schema"].clone()) else {
        panic!("{method} {path} {status} answered {media}, which the document does not list: {response}");
    };
    if schema.is_null() || !media.contains("json") {
        return;
    }
    let mut schema = schema;
    schema["components"] = document["components"].clone();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .unwrap_or_else(|e| panic!("the schema of {method} {path} {status} does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:?}\n{body}"
    );
}

impl World {
    /// Sends `request` (to this world's API) and checks the answer against the OpenAPI document.
    pub async fn send(&self, method: &str, path: &str, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("the API answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response.text().await.expect("a body");
        let body = if content_type.contains("json") {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"))
        } else {
            serde_json::Value::Null
        };
        if status >= 400 && !content_type.starts_with("text/html") {
            assert_eq!(
                content_type, "application/problem+json",
                "{method} {path} {status}: every error is a problem: {text}"
            );
            assert_eq!(body["status"], status, "{body}");
        }
        let document = self.document().await;
        check_against_document(document, method, path, status, &content_type, &body);
        Answer { status, headers, body }
    }

    /// The API's OpenAPI document, as served.
    pub async fn document(&self) -> &serde_json::Value {
        self.document
            .get_or_init(|| async {
                let url = format!("{}/openapi.json", self.server.base_url());
                let answer = self.browser.get(url).send().await.expect("the document");
                assert_eq!(answer.status().as_u16(), 200);
                answer.json().await.expect("the document is JSON")
            })
            .await
    }

    /// A request of `method` to `path` of the API, with the bearer `key` and a JSON `body` when given.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.server.base_url());
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.browser.request(method, url);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
    }

    /// Calls the API and checks the answer against its document: the status and the JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let answer = self
            .send(method, path, self.request(method, path, key, body.as_ref()))
            .await;
        (answer.status, answer.body)
    }

    pub async fn start(store: Backend, start: DateTime<Utc>, sandbox: SandboxConfig) -> Self {
        Self::start_with(store, start, sandbox, HttpConfig::default()).await
    }

    /// [`World::start`] with the HTTP server's limits of `http`.
    pub async fn start_with(store: Backend, start: DateTime<Utc>, sandbox: SandboxConfig, http: HttpConfig) -> Self {
        Self::start_configured(store, start, sandbox, http, |_| {}).await
    }

    /// [`World::start`] with each sandbox bank's client configuration changed by `bank` first (its timeouts and
    /// budgets, say).
    pub async fn start_with_banks(
        store: Backend,
        start: DateTime<Utc>,
        sandbox: SandboxConfig,
        bank: impl Fn(&mut consentry_adapters::config::BankConfig),
    ) -> Self {
        Self::start_configured(store, start, sandbox, HttpConfig::default(), bank).await
    }

    async fn start_configured(
        store: Backend,
        start: DateTime<Utc>,
        sandbox: SandboxConfig,
        http: HttpConfig,
        bank: impl Fn(&mut consentry_adapters::config::BankConfig),
    ) -> Self {
        let db = TestDb::create(store).await;
        let clock = Arc::new(SimulatedClock::starting_at(start));
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let sandbox = Sandbox::start_with_clock(sandbox, clock.clone(), loopback)
            .await
            .expect("sandbox starts");
        let mut configs = sandbox_banks(&sandbox.base_url()).expect("sandbox banks");
        configs.iter_mut().for_each(bank);
        let banks = Banks::from_config(&configs).expect("clients");
        let engine = Engine::open(Some(db.url()), clock.clone())
            .await
            .expect("open engine")
            .with_banks(banks);
        let engine = Arc::new(engine);
        let rates = Arc::new(consentry_adapters::ecb::SnapshotRates::load().expect("snapshot rates"));
        let server = HttpServer::start_with(engine.clone(), rates, loopback, None, http)
            .await
            .expect("http server");
        Self {
            engine,
            clock,
            sandbox,
            server,
            browser: reqwest::Client::new(),
            document: tokio::sync::OnceCell::new(),
            _db: db,
        }
    }

    /// A valid consent of the context's user at `bank`: connected through the engine, approved at once by the
    /// sandbox (when it auto-approves), and its status read back.
    pub async fn valid_consent(&self, ctx: &consentry::RequestContext, bank: &str) -> consentry_domain::ConsentId {
        use consentry_domain::Clock;
        let request = consentry::consents::ConnectRequest {
            bank: bank.into(),
            psu_ip_address: "192.0.2.10".into(),
            psu_id: None,
            access: consentry_domain::consent::ConsentAccess::AllPsd2,
            valid_until: self.clock.today() + chrono::Duration::days(89),
            frequency_per_day: 4,
            callback_url: self.server.callback_url(),
            approach: None,
            renewal_of: None,
        };
        let started = self.engine.connect_bank(ctx, request).await.expect("connect");
        let status = self
            .engine
            .refresh_consent_status(ctx, started.consent)
            .await
            .expect("status");
        assert_eq!(status, consentry_domain::consent::ConsentStatus::Valid);
        started.consent
    }

    /// A payment of the context's user, requested and sent to the bank (the user at 192.0.2.10): whatever the
    /// bank answered is recorded.
    pub async fn sent_payment(
        &self,
        ctx: &consentry::RequestContext,
        order: PaymentInput,
    ) -> consentry_domain::PaymentId {
        let id = self.engine.request_payment(ctx, order).await.expect("request");
        self.engine
            .send_payment(ctx, id, "192.0.2.10", None)
            .await
            .expect("the attempt is recorded");
        id
    }

    /// Injects `faults` into `bank` of the sandbox.
    pub async fn set_faults(&self, bank: &str, faults: &consentry_sandbox::Faults) {
        self.browser
            .put(format!("{}/admin/faults", self.sandbox.bank_url(bank)))
            .json(faults)
            .send()
            .await
            .expect("the sandbox takes the faults");
    }

    /// The sandbox's counters of `bank` (accesses per consent, resource and day; payments per request id).
    pub async fn counters(&self, bank: &str) -> serde_json::Value {
        let answer = self
            .browser
            .get(format!("{}/admin/counters", self.sandbox.bank_url(bank)))
            .send()
            .await;
        answer.expect("counters").json().await.expect("counters are JSON")
    }

    /// Opens an SCA page and presses `decision` (approve or deny), following the redirect like a browser.
    pub async fn decide_on_page(&self, sca_page: &str, decision: &str) -> reqwest::Response {
        self.browser
            .post(sca_page)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("decision={decision}"))
            .send()
            .await
            .expect("the SCA page answers")
    }
}

/// Runs the `consentry` binary at `binary` (a test's `env!("CARGO_BIN_EXE_consentry")`) with `args` on `db`:
/// whether it succeeded, its stdout and its stderr.
pub fn run_binary(binary: &str, db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(binary)
        .args(args)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "off")
        .output()
        .expect("the binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `text` as JSON, or a panic naming what a `--json` option printed instead.
pub fn printed_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("--json prints JSON ({e}): {text}"))
}
