//! Synchronising consents against the sandbox, on both stores: no duplicates after re-fetches and pending
//! transactions being booked, the unattended budget never exceeded over 30 days of scheduled syncs (checked on
//! the bank's own counters), user-present refreshes not counted, and CONSENT_EXPIRED expiring the consent.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::{EngineError, RequestContext};
use consentry_domain::account_data::ObservedTransaction;
use consentry_domain::bank::{BookingStatus, PsuContext, TransactionQuery};
use consentry_domain::consent::{ConsentError, ConsentStage, ConsentStatus, ExpiryCause};
use consentry_domain::{BankId, Clock, TenantId, UserId};
use consentry_sandbox::SandboxConfig;
use consentry_tests::{on_both_stores, settle, Backend, World};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(0, 30, 0))
        .expect("valid time")
        .and_utc()
}

async fn thirty_days_of_scheduled_syncs_stay_in_budget_without_duplicates(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "swedbank").await;
    let job = RequestContext::job(ctx.tenant, ctx.user);
    let first_day = world.clock.today();

    let mut refused = 0;
    for _day in 0..30 {
        // A scheduler that tries every four hours: six attempts a day for a budget of four.
        for _ in 0..6 {
            match world.engine.sync_consent(&job, consent, &PsuContext::absent()).await {
                Ok(report) => assert_eq!(report.accounts, 4),
                Err(EngineError::Consent {
                    source: ConsentError::AccessBudgetExhausted { .. },
                    ..
                }) => refused += 1,
                Err(other) => panic!("sync failed: {other}"),
            }
            world.clock.advance(Duration::hours(4));
        }
        let next = world.engine.next_unattended_sync(consent).await.expect("next sync");
        assert!(next > world.engine.now() - Duration::hours(4));
    }
    assert_eq!(
        refused,
        30 * 2,
        "two of six attempts a day are refused before reaching the bank"
    );

    // The bank's own counters: never more than four unattended accesses per consent, resource and day.
    let counters = world.counters("swedbank").await;
    let accesses = counters["accesses"].as_array().expect("accesses");
    assert!(!accesses.is_empty());
    for access in accesses {
        assert!(access["unattended"].as_u64().unwrap_or(99) <= 4, "{access}");
    }

    // No duplicates: every booked transaction the bank reports over the synced period is known exactly once,
    // and nothing still pending at Consentry has been booked or dropped at the bank.
    let data = world.engine.account_data(consent).await.expect("data");
    let state = world
        .engine
        .consent(consent)
        .await
        .expect("consent")
        .state
        .expect("state");
    let bank_consent = state.stage.bank_consent().expect("bank consent").id.clone();
    let port = world.engine_bank_port("swedbank");
    for account in &data.accounts {
        let query = TransactionQuery {
            booking_status: BookingStatus::Both,
            date_from: first_day - Duration::days(90),
            date_to: Some(world.clock.today()),
        };
        let report = port
            .transactions(
                &bank_consent,
                &account.resource_id,
                &query,
                &PsuContext::present("192.0.2.10"),
            )
            .await
            .expect("user-present read is not counted");
        let at_bank: BTreeSet<String> = report
            .booked
            .iter()
            .map(|t| ObservedTransaction::from_bank(t).id)
            .collect();
        let ledger = data.ledger(&account.resource_id).expect("ledger");
        assert_eq!(ledger.booked, at_bank, "account {}", account.resource_id);
        let pending_at_bank: BTreeSet<String> = report
            .pending
            .iter()
            .map(|t| ObservedTransaction::from_bank(t).id)
            .collect();
        assert!(
            ledger.pending.keys().all(|id| pending_at_bank.contains(id)),
            "stale pending in {}",
            account.resource_id
        );
    }
    let matched = world.engine.pending_bookings(consent).await.expect("pending bookings");
    assert!(matched > 0, "the sandbox books some pending transactions under new ids");
}
on_both_stores!(
    thirty_days,
    thirty_days_of_scheduled_syncs_stay_in_budget_without_duplicates
);

async fn a_user_present_refresh_is_not_counted(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "seb").await;
    for _ in 0..6 {
        world
            .engine
            .sync_consent(&ctx, consent, &PsuContext::present("192.0.2.10"))
            .await
            .expect("user-present sync");
    }
    let aggregate = world.engine.consent(consent).await.expect("consent");
    assert_eq!(aggregate.accesses_on(world.clock.today(), "accounts"), 0);
    assert_eq!(
        world.engine.next_unattended_sync(consent).await.expect("next"),
        world.engine.now()
    );
}
on_both_stores!(user_present, a_user_present_refresh_is_not_counted);

async fn consent_expired_at_the_bank_expires_the_consent(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let former = world.valid_consent(&ctx, "luminor").await;
    // A new recurring consent of the same user at the same bank makes the bank expire the former one.
    world.valid_consent(&ctx, "luminor").await;
    let error = world
        .engine
        .sync_consent(&ctx, former, &PsuContext::absent())
        .await
        .expect_err("expired at bank");
    assert!(matches!(error, EngineError::Bank { .. }), "{error}");
    let state = world
        .engine
        .consent(former)
        .await
        .expect("consent")
        .state
        .expect("state");
    assert_eq!(state.status(), ConsentStatus::Expired);
    assert!(
        matches!(
            state.stage,
            ConsentStage::Expired {
                cause: ExpiryCause::BankReportedExpired,
                ..
            }
        ),
        "{:?}",
        state.stage
    );
}
on_both_stores!(consent_expired, consent_expired_at_the_bank_expires_the_consent);

trait Inspect {
    fn engine_bank_port(&self, bank: &str) -> std::sync::Arc<dyn consentry_domain::bank::BankPort>;
}

impl Inspect for World {
    fn engine_bank_port(&self, bank: &str) -> std::sync::Arc<dyn consentry_domain::bank::BankPort> {
        let configs = consentry::config::sandbox_banks(&self.sandbox.base_url()).expect("configs");
        let banks = consentry::banks::Banks::from_config(&configs).expect("clients");
        banks
            .get(&BankId::parse(bank).expect("bank id"))
            .expect("configured")
            .port
            .clone()
    }
}

async fn refreshing_all_banks_reports_the_failing_one(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let user = ctx.user.expect("user");
    world.valid_consent(&ctx, "swedbank").await;
    world.valid_consent(&ctx, "seb").await;
    settle(&world.engine).await;
    let faults = consentry_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    };
    world.set_faults("seb", &faults).await;
    let outcome = world
        .engine
        .refresh_user(&ctx, user, &PsuContext::present("192.0.2.10"))
        .await
        .expect("refresh");
    assert_eq!(outcome.synced.len(), 1);
    assert_eq!(outcome.synced[0].bank.as_str(), "swedbank");
    assert!(outcome.synced[0].new_booked > 0);
    assert_eq!(outcome.failures.len(), 1);
    assert_eq!(outcome.failures[0].bank.as_str(), "seb");
    assert!(
        outcome.failures[0].reason.contains("500"),
        "{}",
        outcome.failures[0].reason
    );
}
on_both_stores!(refresh_all, refreshing_all_banks_reports_the_failing_one);
