//! A sync at the bank edge, on both stores: a slow bank still syncs within a budget that grows with the calls
//! the sync makes (where a timeout for the whole sync failed it), a bank slower than that budget ends the sync
//! with a clear error, and a 429's `Retry-After` keeps every unattended access away from the bank until it has
//! passed (checked on the bank's own counters).

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
