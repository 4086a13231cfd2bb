//! Three `consentry serve` processes on one PostgreSQL database share 1,000 payments in flight: every payment
//! reaches its final status; no payment is polled twice at once (the bank's own poll log has no two polls of a
//! payment closer than a second); and when one instance is killed with SIGKILL while it holds claimed work, the
//! others take that work over once its lease expires, and the restarted process resumes from the stored schedule.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use consentry::banks::Banks;
use consentry::payments::PaymentStart;
use consentry::{Engine, RequestContext};
use consentry_adapters::config::BankConfig;
use consentry_adapters::SystemClock;
use consentry_domain::{PaymentId, TenantId, UserId};
use consentry_sandbox::{Sandbox, SandboxConfig};
use consentry_tests::{payment_input, Backend, TestDb};
use futures::StreamExt;
use serde_json::Value;

const PAYMENTS: usize = 1_000;

/// A `consentry serve` process, killed when the test ends (even when it panics).
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(db: &TestDb, dir: &std::path::Path) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentry"))
        .current_dir(dir)
        .env("DATABASE_URL", db.url())
        .env("RUST_LOG", "off")
        .args(["serve", "--port", "0", "--lease-seconds", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("Consentry API on"), "{first}");
    std::thread::spawn(move || lines.for_each(drop));
    Instance(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_share_the_payments_and_take_over_a_killed_ones_work() {
    let db = TestDb::create(Backend::Postgres).await;
    // ACTC 2 s and ACSC 8 s after initiation: each payment is polled at 5 s (ACTC) and at 10 s (ACSC).
    let sandbox = Sandbox::start(SandboxConfig {
        accept_after_ms: 2_000,
        settle_after_ms: 8_000,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let bank = BankConfig::sandbox("swedbank", "Swedbank", &sandbox.base_url()).expect("bank");
    let dir = tempfile::tempdir().expect("a working directory");
    std::fs::write(
        dir.path().join("consentry.toml"),
        format!(
            "[[banks]]\nid = \"swedbank\"\ndisplay_name = \"Swedbank\"\nbase_url = \"{}\"\n",
            bank.base_url
        ),
    )
    .expect("config");

    let engine = Arc::new(
        Engine::open(Some(db.url()), Arc::new(SystemClock))
            .await
            .expect("engine")
            .with_banks(Banks::from_config(&[bank]).expect("banks")),
    );
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let payments: Vec<PaymentId> = futures::stream::iter(0..PAYMENTS)
        .map(|_| {
            let engine = engine.clone();
            async move {
                let start = PaymentStart {
                    order: payment_input("swedbank", "1.00"),
                    psu_ip_address: "192.0.2.10".into(),
                    callback_url: "http://127.0.0.1:9/callback/sca".into(),
                    approach: None,
                };
                engine.start_payment(&ctx, start).await.expect("initiated").payment
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let initiated = Instant::now();

    let mut instances: Vec<Instance> = (0..3).map(|_| serve(&db, dir.path())).collect();
    // Killed in the middle of the first wave of polls, while it holds claimed work.
    tokio::time::sleep(Duration::from_millis(5_500).saturating_sub(initiated.elapsed())).await;
    let killed = instances.remove(0);
    drop(killed);
    // Restarted, the process resumes from the stored schedule like any instance.
    instances.push(serve(&db, dir.path()));

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut open = 0;
        for id in &payments {
            if !engine.payment(*id).await.expect("payment").is_final() {
                open += 1;
            }
        }
        if open == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{open} payments still open");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let counters: Value = reqwest::get(format!("{}/admin/counters", sandbox.bank_url("swedbank")))
        .await
        .expect("counters")
        .json()
        .await
        .expect("json");
    let polls = counters["statusPolls"].as_object().expect("the poll log");
    let mut total = 0;
    for id in &payments {
        let payment = engine.payment(*id).await.expect("payment");
        assert_eq!(payment.status().map(|s| s.code()), Some("ACSC"), "{id}");
        let bank_id = payment.state.and_then(|s| s.bank_payment_id).expect("bank id");
        let times: Vec<DateTime<Utc>> = polls[&bank_id]
            .as_array()
            .expect("polled")
            .iter()
            .map(|at| serde_json::from_value(at.clone()).expect("a time"))
            .collect();
        total += times.len();
        assert!(
            times.windows(2).all(|w| w[1] - w[0] >= chrono::Duration::seconds(1)),
            "payment {id} polled twice at once: {times:?}"
        );
    }
    // At most two polls a payment (one when its first poll came after it settled), plus at most the killed
    // instance's claimed batch polled again after its lease.
    assert!((PAYMENTS..=2 * PAYMENTS + 100).contains(&total), "{total} polls");
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("initiations");
    assert_eq!(initiations.len(), PAYMENTS);
    assert!(initiations.values().all(|n| n == 1), "no payment initiated twice");
}
