//! The read-side commands of the `consentry` binary, run as a process on both stores: `audit --list`, `audit`
//! now and `--as-of` an earlier time, each with `--json` too, `replay` with its closing figure (and no progress
//! bar when piped), `replay --status` as a table and as JSON, and an unknown projection refused by name.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::RequestContext;
use consentry_domain::consent::{ConsentCommand, RevokedBy};
use consentry_domain::{TenantId, UserId};
use consentry_projections::Projection;
use consentry_tests::{consent_input, on_both_stores, run_binary, Backend, TestDb};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 2, 2)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("valid time")
        .and_utc()
}

/// Runs `consentry ARGS` on the test's database: whether it succeeded, its stdout and its stderr.
fn consentry(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    run_binary(env!("CARGO_BIN_EXE_consentry"), db, args)
}

async fn the_read_side_commands_work(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = engine
        .request_consent(&ctx, consent_input("seb", start().date_naive() + Duration::days(89)))
        .await
        .expect("request");
    clock.advance(Duration::hours(1));
    let terminate = ConsentCommand::Revoke { by: RevokedBy::Tpp };
    engine.execute_consent(&ctx, id, terminate).await.expect("terminate");
    engine.database().close().await;
    let id = id.to_string();

    let (ok, listed, errors) = consentry(&db, &["audit", "consent", "--list"]);
    assert!(ok, "{errors}");
    assert_eq!(listed.trim(), id);

    let (ok, trail, errors) = consentry(&db, &["audit", "consent", &id]);
    assert!(ok, "{errors}");
    assert!(trail.contains("#1 ConsentRequested"), "{trail}");
    assert!(trail.contains("#2 ConsentTerminatedByTpp"), "{trail}");
    assert!(trail.contains("actor user"), "{trail}");
    assert!(
        trail.contains("state now:") && trail.contains("\"terminatedByTpp\""),
        "{trail}"
    );

    let half_an_hour_in = (start() + Duration::minutes(30)).to_rfc3339();
    let (ok, earlier, errors) = consentry(&db, &["audit", "consent", &id, "--as-of", &half_an_hour_in]);
    assert!(ok, "{errors}");
    assert!(
        earlier.contains("ConsentTerminatedByTpp"),
        "every event is listed: {earlier}"
    );
    assert!(earlier.contains("(after as-of)"), "{earlier}");
    assert!(
        earlier.contains("state as of") && earlier.contains("\"stage\": \"requested\""),
        "{earlier}"
    );
    assert!(!earlier.contains("\"terminatedByTpp\""), "{earlier}");

    let (ok, replayed, progress) = consentry(&db, &["replay"]);
    assert!(ok, "{progress}");
    assert!(
        replayed.starts_with("replayed 2 events into every projection in "),
        "{replayed}"
    );
    assert!(replayed.trim_end().ends_with("events/s"), "{replayed}");
    assert!(
        progress.is_empty(),
        "no progress bar when stderr is not a terminal: {progress:?}"
    );

    let (ok, status, errors) = consentry(&db, &["replay", "--status"]);
    assert!(ok, "{errors}");
    for projection in Projection::ALL.iter().map(Projection::name) {
        let line = status
            .lines()
            .find(|line| line.starts_with(projection))
            .unwrap_or_else(|| panic!("{projection} missing: {status}"));
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns[2..5], ["2", "0", "0"], "applied, lag, failures: {line}");
    }

    let (ok, status, errors) = consentry(&db, &["replay", "--status", "--json"]);
    assert!(ok, "{errors}");
    let status: serde_json::Value = serde_json::from_str(&status).expect("--json prints JSON");
    let projections = status.as_array().expect("an array");
    assert_eq!(projections.len(), Projection::ALL.len(), "{status}");
    for projection in projections {
        assert_eq!(projection["eventsApplied"], 2, "{projection}");
        assert_eq!(projection["lag"], 0, "{projection}");
        assert_eq!(projection["failures"], 0, "{projection}");
    }

    let (ok, listed, errors) = consentry(&db, &["audit", "consent", "--list", "--json"]);
    assert!(ok, "{errors}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&listed).expect("JSON"),
        serde_json::json!([id])
    );

    let (ok, trail, errors) = consentry(&db, &["audit", "consent", &id, "--as-of", &half_an_hour_in, "--json"]);
    assert!(ok, "{errors}");
    let trail: serde_json::Value = serde_json::from_str(&trail).expect("--json prints JSON");
    assert_eq!(trail["aggregate"], "Consent", "{trail}");
    assert_eq!(trail["id"], id.as_str(), "{trail}");
    assert_eq!(trail["events"][0]["eventType"], "ConsentRequested", "{trail}");
    assert_eq!(trail["events"][0]["afterAsOf"], false, "{trail}");
    assert_eq!(trail["events"][1]["eventType"], "ConsentTerminatedByTpp", "{trail}");
    assert_eq!(trail["events"][1]["afterAsOf"], true, "{trail}");
    assert!(trail["state"].to_string().contains(r#""stage":"requested""#), "{trail}");

    let (ok, _, refused) = consentry(&db, &["replay", "--projection", "balances"]);
    assert!(!ok);
    assert!(refused.contains("no projection is named \"balances\""), "{refused}");
}
on_both_stores!(read_side_commands, the_read_side_commands_work);
