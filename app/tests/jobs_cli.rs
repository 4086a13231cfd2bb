//! `consentry jobs status|run`, run as a process on both stores: a consent whose validUntil has passed shows as
//! due expiry work, `jobs run consentExpiry` expires it (the store's log says so), after which nothing is left;
//! an unknown kind is refused by name.

use chrono::{Duration, Utc};
use consentry::RequestContext;
use consentry_domain::consent::ConsentStatus;
use consentry_domain::{TenantId, UserId};
use consentry_tests::{consent_input, on_both_stores, printed_json, run_binary, settle, Backend, TestDb};
use serde_json::Value;

/// Runs `consentry ARGS` on the test's database: whether it succeeded, its stdout and its stderr.
fn consentry(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    run_binary(env!("CARGO_BIN_EXE_consentry"), db, args)
}

fn json(text: &str) -> Value {
    printed_json(text)
}

async fn the_jobs_commands_show_and_run_due_work(store: Backend) {
    let db = TestDb::create(store).await;
    // A consent requested 30 days ago (on a clock of its own), valid for 10 days: its expiry is long due.
    let (engine, _clock) = db.engine(Utc::now() - Duration::days(30)).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let valid_until = (Utc::now() - Duration::days(20)).date_naive();
    let consent = engine
        .request_consent(&ctx, consent_input("swedbank", valid_until))
        .await
        .expect("request");
    settle(&engine).await;

    let (ok, status, errors) = consentry(&db, &["jobs", "status", "--json"]);
    assert!(ok, "{errors}");
    let status = json(&status);
    let kinds = status["kinds"].as_array().expect("kinds");
    let expiry = kinds
        .iter()
        .find(|k| k["kind"] == "consentExpiry")
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(
        (expiry["total"].as_i64(), expiry["due"].as_i64()),
        (Some(1), Some(1)),
        "{status}"
    );
    assert!(expiry["oldestDue"].is_string(), "{status}");

    let (ok, plain, errors) = consentry(&db, &["jobs", "status"]);
    assert!(ok, "{errors}");
    assert!(plain.contains("consentExpiry"), "{plain}");

    let (ok, ran, errors) = consentry(&db, &["jobs", "run", "consentExpiry", "--json"]);
    assert!(ok, "{errors}");
    let ran = json(&ran);
    assert_eq!(
        (ran["claimed"].as_u64(), ran["done"].as_u64()),
        (Some(1), Some(1)),
        "{ran}"
    );
    assert_eq!(
        engine.consent(consent).await.expect("load").status(),
        Some(ConsentStatus::Expired)
    );

    let (ok, ran, errors) = consentry(&db, &["jobs", "run", "consentExpiry", "--json"]);
    assert!(ok, "{errors}");
    assert_eq!(json(&ran)["claimed"].as_u64(), Some(0), "nothing is left");

    let (ok, _, errors) = consentry(&db, &["jobs", "run", "laundry"]);
    assert!(!ok);
    assert!(errors.contains("\"laundry\" is not a kind of work"), "{errors}");
}
on_both_stores!(jobs, the_jobs_commands_show_and_run_due_work);

async fn consentry_pay_sends_a_payment_the_scheduler_then_follows(store: Backend) {
    let db = TestDb::create(store).await;
    let sandbox = consentry_sandbox::Sandbox::start(consentry_sandbox::SandboxConfig::default())
        .await
        .expect("sandbox");
    let dir = std::env::temp_dir().join(format!("consentry-pay-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("consentry.toml");
    std::fs::write(
        &config,
        format!(
            "[[banks]]\nid = \"swedbank\"\ndisplay_name = \"Swedbank\"\nbase_url = \"{}\"\n",
            sandbox.bank_url("swedbank")
        ),
    )
    .expect("config");
    let (ok, created, errors) = consentry(&db, &["tenant", "create", "acme", "--json"]);
    assert!(ok, "{errors}");
    let tenant = json(&created)["tenantId"].as_str().expect("tenantId").to_owned();
    let user = UserId::new().to_string();
    let config = config.to_string_lossy().into_owned();
    let (ok, paid, errors) = consentry(
        &db,
        &[
            "pay",
            "--tenant",
            &tenant,
            "--user",
            &user,
            "--bank",
            "swedbank",
            "--debtor-iban",
            "LT121000011101001000",
            "--creditor-iban",
            "LT737300010000000003",
            "--creditor-name",
            "Ignitis UAB",
            "--amount",
            "12.30",
            "--config",
            &config,
            "--json",
        ],
    );
    assert!(ok, "{errors}");
    let paid = json(&paid);
    assert_eq!(paid["phase"], "submitted", "{paid}");
    assert!(paid["paymentId"].is_string(), "{paid}");
    let counters: Value = reqwest::get(format!("{}/admin/counters", sandbox.bank_url("swedbank")))
        .await
        .expect("counters")
        .json()
        .await
        .expect("json");
    assert_eq!(
        counters["paymentsByEndToEndId"].as_object().map(|m| m.len()),
        Some(1),
        "{counters}"
    );

    // The scheduler has the payment's status polls from here.
    let (ok, status, errors) = consentry(&db, &["jobs", "status", "--json"]);
    assert!(ok, "{errors}");
    let status = json(&status);
    let polls = status["kinds"]
        .as_array()
        .and_then(|kinds| kinds.iter().find(|k| k["kind"] == "paymentPoll"))
        .unwrap_or_else(|| panic!("{status}"));
    assert_eq!(polls["total"], 1, "{status}");
    let (ok, _, errors) = consentry(
        &db,
        &[
            "pay",
            "--tenant",
            &tenant,
            "--user",
            &user,
            "--bank",
            "swedbank",
            "--debtor-iban",
            "LT121000011101001000",
            "--creditor-iban",
            "LT121000011101001000",
            "--creditor-name",
            "Me",
            "--amount",
            "1.00",
            "--config",
            &config,
        ],
    );
    assert!(!ok);
    assert!(
        errors.contains("creditorAccount.iban"),
        "a bad order is refused by field: {errors}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
on_both_stores!(pay, consentry_pay_sends_a_payment_the_scheduler_then_follows);
