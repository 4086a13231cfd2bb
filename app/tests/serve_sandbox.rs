//! The README's "Try the service" walkthrough, on both stores, against the binary as a user runs it:
//! `consentry tenant create acme --json`, `consentry serve --sandbox --port 0` (its first line names the API's
//! URL and the sandbox's), connecting Swedbank, approving on the sandbox's SCA page by posting its form, then
//! the consents, balances, transactions and spending read back over HTTP with the tenant's key.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use consentry_tests::{on_both_stores, Backend, TestDb};
use serde_json::{json, Value};

/// The user id the README uses: any UUID of the host's choosing.
const USER: &str = "4c1d3f0e-8a2b-4f6d-9e7c-1b5a2d3c4e5f";

/// A `consentry serve` process, stopped when the test ends (even when it panics).
struct Served {
    child: Child,
    api: String,
    sandbox: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        // The process may have ended already; then there is nothing to stop.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn consentry(db: &TestDb, dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_consentry"));
    command
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "off");
    command
}

/// Starts `consentry serve --sandbox --port 0` and reads the two URLs off its first line.
fn serve(db: &TestDb, dir: &std::path::Path) -> Served {
    let mut child = consentry(db, dir)
        .args(["serve", "--sandbox", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    // The rest is read (and dropped) so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let urls: Vec<&str> = first.split_whitespace().filter(|w| w.starts_with("http://")).collect();
    assert_eq!(urls.len(), 2, "the API's and the sandbox's URL: {first:?}");
    Served {
        api: urls[0].to_owned(),
        sandbox: urls[1].to_owned(),
        child,
    }
}

async fn json_of(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: {status} {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what} is JSON ({e}): {body}"))
}

async fn the_readme_walkthrough_works(store: Backend) {
    let db = TestDb::create(store).await;
    let dir = tempfile::tempdir().expect("a working directory");

    let created = consentry(&db, dir.path())
        .args(["tenant", "create", "acme", "--json"])
        .output()
        .expect("the binary runs");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let created: Value = serde_json::from_slice(&created.stdout).expect("--json prints JSON");
    let key = created["apiKey"].as_str().expect("apiKey").to_owned();
    assert!(created["tenantId"].is_string(), "{created}");

    let served = serve(&db, dir.path());
    assert!(served.api.starts_with("http://127.0.0.1:"), "{}", served.api);
    let http = reqwest::Client::new();
    let bearer = format!("Bearer {key}");
    let users = format!("{}/v1/users/{USER}", served.api);

    let connection = http
        .post(format!("{users}/connections"))
        .header("authorization", &bearer)
        .json(&json!({"bank": "swedbank", "psuIpAddress": "192.0.2.10"}))
        .send()
        .await
        .expect("connect");
    let connection = json_of(connection, "connect").await;
    let sca = connection["scaRedirect"]
        .as_str()
        .expect("a redirect to the bank's SCA page");
    assert!(sca.starts_with(&served.sandbox), "{sca} is the sandbox's page");

    // The README's `curl -sL -d decision=approve "$SCA"`: the form's post, then the bank's redirect to the callback.
    let approved = http
        .post(sca)
        .form(&[("decision", "approve")])
        .send()
        .await
        .expect("the SCA page answers");
    assert!(approved.url().path().ends_with("/callback/sca"), "{}", approved.url());
    let page = approved.text().await.unwrap_or_default();
    assert!(page.contains("The bank reports this connection valid."), "{page}");

    let consents = json_of(
        http.get(format!("{users}/consents"))
            .header("authorization", &bearer)
            .send()
            .await
            .expect("consents"),
        "consents",
    )
    .await;
    assert_eq!(consents["consents"][0]["status"], "valid", "{consents}");

    let balances = json_of(
        http.get(format!("{users}/balances"))
            .header("authorization", &bearer)
            .send()
            .await
            .expect("balances"),
        "balances",
    )
    .await;
    let accounts = balances["accounts"].as_array().expect("accounts");
    assert!(!accounts.is_empty(), "{balances}");
    assert!(
        accounts
            .iter()
            .all(|a| a["bank"] == "swedbank" && a["balance"]["amount"].is_string()),
        "{balances}"
    );
    assert_eq!(balances["total"]["amount"]["currency"], "EUR", "{balances}");
    assert_eq!(balances["failures"], json!([]), "{balances}");

    let transactions = json_of(
        http.get(format!("{users}/transactions?limit=5"))
            .header("authorization", &bearer)
            .send()
            .await
            .expect("transactions"),
        "transactions",
    )
    .await;
    let listed = transactions["transactions"].as_array().expect("transactions");
    assert_eq!(listed.len(), 5, "{transactions}");
    assert!(transactions["next"].is_string(), "more pages: {transactions}");

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let spending = json_of(
        http.get(format!("{users}/spending?month={month}"))
            .header("authorization", &bearer)
            .send()
            .await
            .expect("spending"),
        "spending",
    )
    .await;
    assert_eq!(spending["month"], month.as_str(), "{spending}");
    let lines = spending["spending"].as_array().expect("spending lines");
    assert!(lines.iter().any(|l| l["flow"] == "spending"), "{spending}");

    let refused = http
        .get(format!("{users}/balances"))
        .header("authorization", "Bearer not-a-key")
        .send()
        .await
        .expect("balances");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
}
on_both_stores!(readme_walkthrough, the_readme_walkthrough_works);
