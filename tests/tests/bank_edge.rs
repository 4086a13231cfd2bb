//! A sync at the bank edge, on both stores: a slow bank still syncs within a budget that grows with the calls
//! the sync makes (where a timeout for the whole sync failed it), a bank slower than that budget ends the sync
//! with a clear error, and a 429's `Retry-After` keeps every unattended access away from the bank until it has
//! passed (checked on the bank's own counters).

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::{EngineError, RequestContext};
use consentry_domain::bank::{BankError, PsuContext};
use consentry_domain::consent::ConsentError;
use consentry_domain::{TenantId, UserId};
use consentry_sandbox::{Faults, SandboxConfig};
use consentry_tests::{on_both_stores, Backend, World};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

/// Every request the sandbox counted for `bank`.
async fn requests(world: &World, bank: &str) -> u64 {
    let counters = world.counters(bank).await;
    counters["accesses"]
        .as_array()
        .expect("accesses")
        .iter()
        .map(|access| access["requests"].as_u64().unwrap_or(0))
        .sum()
}

async fn a_slow_bank_syncs_within_a_budget_that_grows_with_its_calls(store: Backend) {
    // Each call takes 250 ms against a per-call timeout of 600 ms: the sync's nine or more calls take over two
    // seconds, far more than one call's timeout, and it still completes.
    let world = World::start_with_banks(store, start(), SandboxConfig::default(), |bank| {
        bank.timeout_ms = 600;
    })
    .await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "seb").await;
    world
        .set_faults(
            "seb",
            &Faults {
                latency_ms: 250,
                ..Faults::default()
            },
        )
        .await;
    let user = ctx.user.expect("user");
    let started = std::time::Instant::now();
    let outcome = world
        .engine
        .refresh_user(&ctx, user, &PsuContext::present("192.0.2.10"))
        .await
        .expect("refresh");
    assert!(outcome.failures.is_empty(), "{:?}", outcome.failures);
    assert_eq!(outcome.synced.len(), 1);
    assert_eq!(outcome.synced[0].consent, consent);
    assert_eq!(outcome.synced[0].accounts, 4);
    assert!(
        started.elapsed() > std::time::Duration::from_millis(600),
        "the sync took longer than one call's timeout"
    );
}
on_both_stores!(slow_bank, a_slow_bank_syncs_within_a_budget_that_grows_with_its_calls);

async fn a_bank_slower_than_the_sync_budget_ends_the_sync_clearly(store: Backend) {
    let world = World::start_with_banks(store, start(), SandboxConfig::default(), |bank| {
        bank.timeout_ms = 400;
        bank.sync_allowance_ms = 50;
    })
    .await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "seb").await;
    world
        .set_faults(
            "seb",
            &Faults {
                latency_ms: 200,
                ..Faults::default()
            },
        )
        .await;
    let error = world
        .engine
        .sync_consent(&ctx, consent, &PsuContext::present("192.0.2.10"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, EngineError::Bank { source: BankError::OverBudget(text), .. } if text.contains("budget")),
        "{error}"
    );
}
on_both_stores!(over_budget, a_bank_slower_than_the_sync_budget_ends_the_sync_clearly);

async fn retry_after_keeps_unattended_syncs_away_until_it_has_passed(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "swedbank").await;
    let job = RequestContext::job(ctx.tenant, ctx.user);
    world
        .set_faults(
            "swedbank",
            &Faults {
                too_many_requests_rate: 1.0,
                retry_after_secs: Some(120),
                ..Faults::default()
            },
        )
        .await;
    let error = world
        .engine
        .sync_consent(&job, consent, &PsuContext::absent())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            EngineError::Bank {
                source: BankError::AccessExceeded { .. },
                ..
            }
        ),
        "{error}"
    );
    world.set_faults("swedbank", &Faults::default()).await;
    let until = world.engine.now() + Duration::seconds(120);
    assert_eq!(
        world.engine.next_unattended_sync(consent).await.expect("next"),
        until,
        "the next unattended sync waits for the bank's Retry-After"
    );

    let before = requests(&world, "swedbank").await;
    world.clock.advance(Duration::seconds(119));
    let refused = world
        .engine
        .sync_consent(&job, consent, &PsuContext::absent())
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            EngineError::Consent {
                source: ConsentError::BankAskedToWait { until: asked },
                ..
            } if asked == until
        ),
        "{refused}"
    );
    assert_eq!(
        requests(&world, "swedbank").await,
        before,
        "no call reached the bank before its Retry-After"
    );

    world.clock.advance(Duration::seconds(1));
    let report = world
        .engine
        .sync_consent(&job, consent, &PsuContext::absent())
        .await
        .expect("the sync runs once the wait is over");
    assert_eq!(report.accounts, 4);
    assert!(requests(&world, "swedbank").await > before);
}
on_both_stores!(retry_after, retry_after_keeps_unattended_syncs_away_until_it_has_passed);

/// The problems a sync should report for the entries the sandbox served broken since `from`: every one but a
/// broken counterparty IBAN, which is kept as sent. As (resource, entry, field); an entry without an id is named
/// by its place in its list.
fn expected_problems(counters: &serde_json::Value, from: usize) -> BTreeSet<(String, String, String)> {
    counters["malformedEntries"].as_array().expect("malformedEntries")[from..]
        .iter()
        .filter(|broken| broken["fault"] != "counterpartyIbanChecksum")
        .map(|broken| {
            let text = |key: &str| broken[key].as_str().expect(key).to_owned();
            let entry = if broken["entry"] == broken["index"].to_string().as_str() {
                format!("{}[{}]", text("list"), broken["index"])
            } else {
                text("entry")
            };
            (text("resource"), entry, text("field"))
        })
        .collect()
}

fn reported_problems(failures: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    failures
        .as_array()
        .expect("failures")
        .iter()
        .map(|failure| {
            let text = |key: &str| {
                failure[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("{key} in {failure}"))
                    .to_owned()
            };
            (text("resource"), text("entry"), text("field"))
        })
        .collect()
}

async fn a_sync_keeps_every_good_entry_and_reports_every_bad_one(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (tenant, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let ctx = RequestContext::user(tenant, user);
    let consent = world.valid_consent(&ctx, "swedbank").await;
    world
        .set_faults(
            "swedbank",
            &Faults {
                malformed_entry_rate: 0.3,
                ..Faults::default()
            },
        )
        .await;
    let refresh = format!("/v1/users/{user}/refresh");
    let body = serde_json::json!({ "psuIpAddress": "192.0.2.10" });

    let served_before = world.counters("swedbank").await["malformedEntries"]
        .as_array()
        .map_or(0, Vec::len);
    let (status, first) = world.call("POST", &refresh, Some(&key), Some(body.clone())).await;
    assert_eq!(status, 200, "{first}");
    let counters = world.counters("swedbank").await;
    let expected = expected_problems(&counters, served_before);
    assert!(
        expected.len() >= 3,
        "the sandbox broke entries of several kinds: {expected:?}"
    );
    assert_eq!(reported_problems(&first["failures"]), expected, "{first}");
    for failure in first["failures"].as_array().expect("failures") {
        assert_eq!(failure["bank"], "swedbank");
        assert!(
            !failure["reason"].as_str().unwrap_or_default().contains("LT"),
            "no account number in a reason: {failure}"
        );
    }

    // Every account that parsed was synced, and every good transaction of it recorded; a transaction whose
    // counterparty IBAN fails its checksum is kept.
    let broken_accounts = expected.iter().filter(|(resource, ..)| resource == "accounts").count();
    let synced = &first["synced"][0];
    assert_eq!(synced["accounts"].as_u64(), Some(4 - broken_accounts as u64), "{first}");
    let data = world.engine.account_data(consent).await.expect("account data");
    assert_eq!(data.accounts.len(), 4 - broken_accounts);
    let kept_counterparties: Vec<&serde_json::Value> = counters["malformedEntries"].as_array().expect("entries")
        [served_before..]
        .iter()
        .filter(|broken| broken["fault"] == "counterpartyIbanChecksum" && broken["list"] == "booked")
        .collect();
    for broken in &kept_counterparties {
        let id = broken["entry"].as_str().expect("a booked transaction has an id");
        let account = broken["resource"]
            .as_str()
            .and_then(|r| r.strip_prefix("accounts/"))
            .and_then(|r| r.strip_suffix("/transactions"))
            .expect("account");
        let ledger = data.ledger(account).expect("the account's ledger");
        assert!(ledger.booked.contains(id), "{id} is kept");
    }

    // The same answers again: the same problems, and not one duplicate.
    let served_before = counters["malformedEntries"].as_array().map_or(0, Vec::len);
    let (status, second) = world.call("POST", &refresh, Some(&key), Some(body)).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["synced"][0]["newBooked"], 0, "{second}");
    let again = expected_problems(&world.counters("swedbank").await, served_before);
    assert_eq!(reported_problems(&second["failures"]), again);
    let after = world.engine.account_data(consent).await.expect("account data");
    assert_eq!(after, data, "nothing new was stored");

    let metrics = world
        .browser
        .get(format!("{}/metrics", world.server.base_url()))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("consentry_bank_entries_rejected_total{bank=\"swedbank\""),
        "the rejected entries are counted:\n{metrics}"
    );
}
on_both_stores!(
    malformed_entries,
    a_sync_keeps_every_good_entry_and_reports_every_bad_one
);
