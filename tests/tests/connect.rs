//! Connecting a bank through SCA against the sandbox over real HTTP, on both stores: the redirect approach with a
//! verified callback, forged / replayed / missing states refused, a denial, the decoupled approach, a bank that
//! refuses, and payments whose outcome is unknown never re-sent blindly.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::consents::{ConnectRequest, ConnectStarted};
use consentry::payments::Reconciliation;
use consentry::{EngineError, RequestContext};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::payment::{InitiationPhase, PaymentCommand, PaymentError};
use consentry_domain::sca::ScaApproach;
use consentry_domain::{ConsentId, TenantId, UserId};
use consentry_sandbox::{Faults, SandboxConfig};
use consentry_tests::{count_events, on_both_stores, payment_input, settle, Backend, World};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

fn manual() -> SandboxConfig {
    SandboxConfig {
        auto_approve: false,
        decoupled_delay_ms: 1_000,
        ..SandboxConfig::default()
    }
}

fn connect(world: &World, bank: &str, approach: Option<ScaApproach>) -> ConnectRequest {
    ConnectRequest {
        bank: bank.into(),
        psu_ip_address: "192.0.2.10".into(),
        psu_id: None,
        access: ConsentAccess::AllPsd2,
        valid_until: start().date_naive() + Duration::days(89),
        frequency_per_day: 4,
        callback_url: world.server.callback_url(),
        approach,
        renewal_of: None,
    }
}

/// A world whose banks wait for the user's decision, and `bank` being connected for a new user.
async fn connecting(store: Backend, bank: &str) -> (World, ConnectStarted) {
    let world = World::start(store, start(), manual()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let started = world
        .engine
        .connect_bank(&ctx, connect(&world, bank, None))
        .await
        .expect("connect");
    (world, started)
}

async fn status(world: &World, consent: ConsentId) -> Option<ConsentStatus> {
    world.engine.consent(consent).await.expect("load").status()
}

async fn redirect_approval_authorises_through_the_verified_callback(store: Backend) {
    let (world, started) = connecting(store, "swedbank").await;
    assert_eq!(started.approach, ScaApproach::Redirect);
    assert_eq!(status(&world, started.consent).await, Some(ConsentStatus::Received));

    let link = started.sca_redirect.expect("redirect link");
    let landed = world.decide_on_page(&link, "approve").await;
    assert_eq!(landed.url().path(), "/callback/sca");
    assert_eq!(landed.status().as_u16(), 200);
    let callback = landed.url().to_string();
    assert_eq!(status(&world, started.consent).await, Some(ConsentStatus::Valid));

    // The same callback again, a forged state and no state at all: refused, and nothing is stored.
    let events = count_events(world.engine.database()).await;
    for url in [
        callback,
        format!("{}?state={}", world.server.callback_url(), "f".repeat(64)),
        world.server.callback_url(),
    ] {
        let answer = world.browser.get(&url).send().await.expect("answer");
        assert_eq!(answer.status().as_u16(), 400, "{url}");
    }
    assert!(matches!(
        world.engine.complete_sca_callback("forged").await,
        Err(EngineError::CallbackRefused(_))
    ));
    assert_eq!(count_events(world.engine.database()).await, events);
}
on_both_stores!(
    redirect_approval,
    redirect_approval_authorises_through_the_verified_callback
);

async fn a_denial_rejects_the_consent(store: Backend) {
    let (world, started) = connecting(store, "seb").await;
    let landed = world.decide_on_page(&started.sca_redirect.expect("link"), "deny").await;
    assert_eq!(landed.status().as_u16(), 200);
    assert_eq!(status(&world, started.consent).await, Some(ConsentStatus::Rejected));
}
on_both_stores!(denial, a_denial_rejects_the_consent);

async fn a_callback_is_refused_after_the_state_expired(store: Backend) {
    let (world, started) = connecting(store, "luminor").await;
    world.clock.advance(Duration::minutes(31));
    let landed = world
        .decide_on_page(&started.sca_redirect.expect("link"), "approve")
        .await;
    assert_eq!(landed.status().as_u16(), 400);
    assert_eq!(status(&world, started.consent).await, Some(ConsentStatus::Received));
}
on_both_stores!(expired_state, a_callback_is_refused_after_the_state_expired);

async fn the_decoupled_approach_polls_sca_status(store: Backend) {
    let world = World::start(store, start(), manual()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let request = connect(&world, "revolut", Some(ScaApproach::Decoupled));
    let started = world.engine.connect_bank(&ctx, request).await.expect("connect");
    assert_eq!(started.approach, ScaApproach::Decoupled);
    // The user approves in the bank's app after the sandbox's delay, measured on the simulated clock.
    let clock = world.clock.clone();
    let mover = tokio::spawn(async move {
        for _ in 0..20 {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
            clock.advance(Duration::milliseconds(200));
        }
    });
    let status = world
        .engine
        .await_decoupled_authorisation(
            &ctx,
            started.consent,
            StdDuration::from_millis(25),
            StdDuration::from_secs(5),
        )
        .await
        .expect("decoupled authorisation");
    mover.await.expect("clock mover");
    assert_eq!(status, ConsentStatus::Valid);
}
on_both_stores!(decoupled, the_decoupled_approach_polls_sca_status);

async fn a_bank_refusing_the_consent_leaves_it_rejected(store: Backend) {
    let world = World::start(store, start(), manual()).await;
    let faults = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    world.set_faults("seb", &faults).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let error = world
        .engine
        .connect_bank(&ctx, connect(&world, "seb", None))
        .await
        .expect_err("bank fails");
    assert!(matches!(error, EngineError::Bank { .. }), "{error}");
    let unknown = world
        .engine
        .connect_bank(&ctx, connect(&world, "nordea", None))
        .await
        .expect_err("unknown bank");
    assert!(
        matches!(unknown, EngineError::InvalidInput(ref e) if e.field == "bankId"),
        "{unknown}"
    );
}
on_both_stores!(bank_refuses, a_bank_refusing_the_consent_leaves_it_rejected);

async fn a_payment_whose_outcome_is_unknown_is_not_sent_again(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let faults = Faults {
        drop_after_processing_rate: 1.0,
        ..Faults::default()
    };
    world.set_faults("swedbank", &faults).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world.sent_payment(&ctx, payment_input("swedbank", "42.50")).await;
    let state = world.engine.payment(id).await.expect("load").state.expect("state");
    assert_eq!(state.phase, InitiationPhase::OutcomeUnknown);

    let again = world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect_err("no blind re-send");
    assert!(
        matches!(
            again,
            EngineError::Payment {
                source: PaymentError::NotAllowed {
                    command: "StartInitiationAttempt",
                    ..
                },
                ..
            }
        ),
        "{again}"
    );
    let counters = world.counters("swedbank").await;
    let per_request_id = counters["paymentsByRequestId"].as_object().expect("per request id");
    assert_eq!(
        per_request_id.values().map(|n| n.as_u64().unwrap_or(0)).sum::<u64>(),
        1,
        "{counters}"
    );

    // Reconciled as found, the payment goes on; the aggregate never saw a second attempt.
    let history = world.engine.payment_history(id).await.expect("history");
    let attempts = history
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                consentry_domain::payment::PaymentEvent::InitiationAttemptStarted { .. }
            )
        })
        .count();
    assert_eq!(attempts, 1);
    world
        .engine
        .execute_payment(&ctx, id, PaymentCommand::ReconcileOutcome { found: None })
        .await
        .expect("reconcile");
}
on_both_stores!(unknown_outcome, a_payment_whose_outcome_is_unknown_is_not_sent_again);

async fn a_created_payment_whose_answer_does_not_parse_is_reconciled_not_rejected(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world
        .engine
        .request_payment(&ctx, payment_input("swedbank", "42.50"))
        .await
        .expect("request");
    // The bank stores the payment and answers 201 with its Location, but the body is cut mid-JSON.
    let faults = Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    };
    world.set_faults("swedbank", &faults).await;
    world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect("attempt recorded");
    world.set_faults("swedbank", &Faults::default()).await;
    let state = world.engine.payment(id).await.expect("load").state.expect("state");
    assert_eq!(
        state.phase,
        InitiationPhase::OutcomeUnknown,
        "not rejected: the bank has it"
    );
    assert_eq!(state.status, None);
    let bank_payment_id = state.bank_payment_id.clone().expect("the id from Location");

    let found = world.engine.reconcile_payment(&ctx, id).await.expect("reconcile");
    assert!(matches!(found, Reconciliation::Found(_)), "{found:?}");
    let state = world.engine.payment(id).await.expect("load").state.expect("state");
    assert_eq!(state.phase, InitiationPhase::Submitted);
    assert_eq!(state.bank_payment_id.as_deref(), Some(bank_payment_id.as_str()));
    assert_eq!(
        world.engine.reconcile_payment(&ctx, id).await.expect("again"),
        Reconciliation::NotNeeded
    );
    let counters = world.counters("swedbank").await;
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("per end-to-end id");
    assert_eq!(initiations.len(), 1, "{counters}");
    assert!(initiations.values().all(|n| n == 1), "initiated once: {counters}");
}
on_both_stores!(
    created_unreadable,
    a_created_payment_whose_answer_does_not_parse_is_reconciled_not_rejected
);

async fn a_payment_the_bank_turned_away_for_its_rate_can_be_sent_again(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world
        .engine
        .request_payment(&ctx, payment_input("swedbank", "42.50"))
        .await
        .expect("request");
    let faults = Faults {
        too_many_requests_rate: 1.0,
        retry_after_secs: Some(2),
        ..Faults::default()
    };
    world.set_faults("swedbank", &faults).await;
    world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect("attempt recorded");
    let state = world.engine.payment(id).await.expect("load").state.expect("state");
    assert_eq!(state.phase, InitiationPhase::Ready, "a 429 created nothing");
    world.set_faults("swedbank", &Faults::default()).await;
    let status = world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect("second attempt");
    assert!(status.is_some());
    let state = world.engine.payment(id).await.expect("load").state.expect("state");
    assert_eq!((state.phase, state.attempts), (InitiationPhase::Submitted, 2));
}
on_both_stores!(
    rate_limited,
    a_payment_the_bank_turned_away_for_its_rate_can_be_sent_again
);

async fn a_sent_payment_is_polled_to_settlement(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world
        .engine
        .request_payment(&ctx, payment_input("swedbank", "42.50"))
        .await
        .expect("request");
    let first = world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect("sent");
    assert!(first.is_some());
    world.clock.advance(Duration::seconds(10));
    let status = world.engine.poll_payment_status(&ctx, id).await.expect("polled");
    assert_eq!(status.map(|s| s.code()), Some("ACSC"));
    assert!(world.engine.payment(id).await.expect("load").is_final());

    // The payments read model: the order, its one attempt and every status it reached, for its owner only.
    settle(&world.engine).await;
    let (tenant, user) = (ctx.tenant, ctx.user.expect("a user"));
    let listed = world.engine.payments(tenant, user).await.expect("payments");
    let [view] = listed.as_slice() else {
        panic!("one payment expected: {listed:?}");
    };
    assert_eq!(view.payment, id);
    assert_eq!(view.amount.to_string(), "42.50 EUR");
    assert_eq!((view.status.map(|s| s.code()), view.attempts), (Some("ACSC"), Some(1)));
    let statuses: Vec<&str> = view.history.iter().map(|c| c.status.code()).collect();
    assert_eq!(statuses.last(), Some(&"ACSC"), "{statuses:?}");
    assert!(
        view.history.windows(2).all(|w| w[0].at <= w[1].at),
        "{:?}",
        view.history
    );
    assert_eq!(view.status_changed_at, view.history.last().map(|c| c.at));
    let other = world.engine.payments(TenantId::new(), user).await.expect("payments");
    assert!(other.is_empty(), "another tenant sees nothing");
}
on_both_stores!(payment_settles, a_sent_payment_is_polled_to_settlement);
