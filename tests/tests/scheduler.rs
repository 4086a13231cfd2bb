//! The scheduler on both stores, on the simulated clock: a sent payment is polled on the guide's schedule until
//! its final status with no call from the host, and the bank's own poll log shows the schedule, the back-off
//! after errors and the stop after 24 hours; a payment whose answer was dropped is found in the debtor's account
//! instead of being sent again; a valid consent is synced unattended at its slots of the day and not once after
//! it ends (counted at the bank); and, on PostgreSQL, workers of different instances claim disjoint rows, and a
//! crashed worker's work is taken over once its lease has expired.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::scheduler::{Pass, SchedulerConfig};
use consentry::{Engine, RequestContext};
use consentry_domain::consent::{ConsentCommand, RevokedBy};
use consentry_domain::{Clock, TenantId, UserId};
use consentry_projections::read_models::due_work::{self, WorkKind};
use consentry_sandbox::SandboxConfig;
use consentry_tests::{on_both_stores, payment_input, settle, Backend, World};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

fn config(owner: &str) -> SchedulerConfig {
    SchedulerConfig {
        owner: owner.into(),
        ..SchedulerConfig::default()
    }
}

/// One pass over `kind` after the read models caught up with the log.
async fn pass(engine: &Engine, kind: WorkKind) -> Pass {
    settle(engine).await;
    engine.run_due_work(&[kind], &config("test")).await.expect("a pass")
}

async fn due(engine: &Engine, kind: WorkKind, id: &str) -> Option<DateTime<Utc>> {
    settle(engine).await;
    due_work::due_of(engine.database(), kind, id).await.expect("due_of")
}

/// Every request the sandbox counted for `bank`.
async fn requests(world: &World, bank: &str) -> u64 {
    world.counters(bank).await["accesses"]
        .as_array()
        .expect("accesses")
        .iter()
        .map(|access| access["requests"].as_u64().unwrap_or(0))
        .sum()
}

async fn a_payment_is_polled_to_its_final_status_on_the_guides_schedule(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world.sent_payment(&ctx, payment_input("swedbank", "42.50")).await;
    let submitted = world.clock.now();
    let key = id.to_string();

    // Nothing is due before the first slot, 5 s after submission.
    assert_eq!(pass(&world.engine, WorkKind::PaymentPoll).await.claimed, 0);
    let mut polled_at = Vec::new();
    while let Some(next) = due(&world.engine, WorkKind::PaymentPoll, &key).await {
        assert!(polled_at.len() < 10, "the payment settles within a few polls");
        world.clock.set(next);
        let done = pass(&world.engine, WorkKind::PaymentPoll).await;
        assert_eq!(done.claimed, 1, "{done:?}");
        polled_at.push((next - submitted).num_seconds());
    }
    assert_eq!(polled_at.first(), Some(&5), "{polled_at:?}");
    assert!(
        polled_at.windows(2).all(|w| w[1] - w[0] == 5),
        "every 5 s in the first minute: {polled_at:?}"
    );
    let payment = world.engine.payment(id).await.expect("payment");
    assert!(payment.is_final(), "{:?}", payment.status());
    assert_eq!(payment.status().map(|s| s.code()), Some("ACSC"));
    assert_eq!(
        pass(&world.engine, WorkKind::PaymentPoll).await.claimed,
        0,
        "no work is left"
    );
}
on_both_stores!(
    payment_polling,
    a_payment_is_polled_to_its_final_status_on_the_guides_schedule
);

async fn a_valid_consent_is_synced_at_its_slots_and_never_after_it_ends(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "swedbank").await;
    let key = consent.to_string();

    // Due at once when authorised: the first sync, unattended, reaches the bank.
    assert!(due(&world.engine, WorkKind::ConsentSync, &key).await.is_some());
    let before = requests(&world, "swedbank").await;
    let first = pass(&world.engine, WorkKind::ConsentSync).await;
    assert_eq!((first.claimed, first.rescheduled), (1, 1), "{first:?}");
    assert!(requests(&world, "swedbank").await > before);
    assert!(world.engine.account_data(consent).await.expect("data").accounts.len() == 4);

    // The next slots: frequencyPerDay (4) a day, 6 hours apart, at an offset of the consent's own.
    let mut slots = Vec::new();
    for _ in 0..4 {
        let next = due(&world.engine, WorkKind::ConsentSync, &key)
            .await
            .expect("scheduled");
        assert!(next > world.clock.now());
        world.clock.set(next);
        assert_eq!(pass(&world.engine, WorkKind::ConsentSync).await.rescheduled, 1);
        slots.push(next);
    }
    assert!(slots.windows(2).all(|w| w[1] - w[0] == Duration::hours(6)), "{slots:?}");

    // Revoked: no work is left, and not one more call reaches the bank over the next two days.
    world
        .engine
        .execute_consent(&ctx, consent, ConsentCommand::Revoke { by: RevokedBy::Tpp })
        .await
        .expect("revoke");
    assert_eq!(due(&world.engine, WorkKind::ConsentSync, &key).await, None);
    let after_revocation = requests(&world, "swedbank").await;
    for _ in 0..8 {
        world.clock.advance(Duration::hours(6));
        let idle = pass(&world.engine, WorkKind::ConsentSync).await;
        assert_eq!(idle.claimed, 0, "{idle:?}");
    }
    assert_eq!(requests(&world, "swedbank").await, after_revocation);
}
on_both_stores!(
    scheduled_syncs,
    a_valid_consent_is_synced_at_its_slots_and_never_after_it_ends
);

/// PostgreSQL: two instances claiming at once get disjoint rows; a worker that stalls past its lease loses the
/// work to another, and its late reschedule is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_claim_disjoint_rows_and_take_over_expired_leases() {
    let world = World::start(Backend::Postgres, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    for _ in 0..40 {
        world.sent_payment(&ctx, payment_input("swedbank", "1.00")).await;
    }
    settle(&world.engine).await;
    world.clock.advance(Duration::seconds(5));
    let database = world.engine.database();
    let now = world.clock.now();
    let lease = now + Duration::seconds(60);
    let kinds = [WorkKind::PaymentPoll];
    let (a, b) = tokio::join!(
        due_work::claim(database, &kinds, "instance-a", now, lease, 25),
        due_work::claim(database, &kinds, "instance-b", now, lease, 25),
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    let mut ids: Vec<&str> = a.iter().chain(&b).map(|c| c.aggregate_id.as_str()).collect();
    assert_eq!(ids.len(), 40, "{} + {}", a.len(), b.len());
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 40, "no row claimed twice");
    assert!(due_work::claim(database, &kinds, "instance-c", now, lease, 25)
        .await
        .expect("claim c")
        .is_empty());

    // Instance A stalls past its lease: C takes its rows over; A's late answer changes nothing.
    let later = lease + Duration::seconds(1);
    let taken = due_work::claim(
        database,
        &kinds,
        "instance-c",
        later,
        later + Duration::seconds(60),
        100,
    )
    .await
    .expect("take over");
    assert_eq!(taken.len(), 40, "every expired lease is taken over");
    let stale = &a[0];
    let stale_outcome = [due_work::Settled::Reschedule {
        work: stale,
        due: later,
        attempts: 0,
    }];
    let kept = due_work::settle(database, "instance-a", &stale_outcome)
        .await
        .expect("settle");
    assert_eq!(kept, 0, "a lost lease reschedules nothing");
    let status = world.engine.jobs_status().await.expect("status");
    let polls = status
        .kinds
        .iter()
        .find(|k| k.kind == "paymentPoll")
        .expect("poll work");
    assert_eq!((polls.total, polls.leased), (40, 40));
    assert_eq!(status.leases.len(), 1);
    assert_eq!(status.leases[0].owner, "instance-c");
}

async fn a_payment_whose_answer_was_dropped_is_found_in_the_debtor_account_not_sent_again(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let consent = world.valid_consent(&ctx, "swedbank").await;
    world
        .engine
        .sync_consent(
            &ctx,
            consent,
            &consentry_domain::bank::PsuContext::present("192.0.2.10"),
        )
        .await
        .expect("the accounts are known");
    let data = world.engine.account_data(consent).await.expect("account data");
    let debtor = data
        .accounts
        .iter()
        .find(|a| a.currency.code() == "EUR")
        .and_then(|a| a.iban.clone())
        .expect("a euro account with an IBAN");
    // The bank processes each initiation, then the connection drops before its answer.
    let dropping = consentry_sandbox::Faults {
        drop_after_processing_rate: 1.0,
        ..consentry_sandbox::Faults::default()
    };
    world.set_faults("swedbank", &dropping).await;
    let mut payments = Vec::new();
    for _ in 0..3 {
        let id = world
            .engine
            .request_payment(
                &ctx,
                consentry::PaymentInput {
                    debtor_iban: debtor.as_str().to_owned(),
                    ..payment_input("swedbank", "12.00")
                },
            )
            .await
            .expect("request");
        world
            .engine
            .send_payment(&ctx, id, "192.0.2.10", None)
            .await
            .expect("the attempt is recorded");
        let state = world.engine.payment(id).await.expect("payment").state.expect("state");
        assert_eq!(state.phase, consentry_domain::payment::InitiationPhase::OutcomeUnknown);
        payments.push(id);
    }
    world
        .set_faults("swedbank", &consentry_sandbox::Faults::default())
        .await;

    // The bank executes them; reconciliation finds each by its end-to-end id among the debtor's transactions.
    world.clock.advance(Duration::seconds(10));
    let reconciled = pass(&world.engine, WorkKind::PaymentReconcile).await;
    assert_eq!((reconciled.claimed, reconciled.done), (3, 3), "{reconciled:?}");
    for id in &payments {
        let payment = world.engine.payment(*id).await.expect("payment");
        assert_eq!(payment.status().map(|s| s.code()), Some("ACSC"), "{id}");
        let history = world.engine.payment_history(*id).await.expect("history");
        let attempts = history
            .iter()
            .filter(|e| {
                matches!(
                    e.event,
                    consentry_domain::payment::PaymentEvent::InitiationAttemptStarted { .. }
                )
            })
            .count();
        assert_eq!(attempts, 1, "never sent twice");
    }
    let counters = world.counters("swedbank").await;
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("per end-to-end id");
    assert_eq!(initiations.len(), 3, "{counters}");
    assert!(
        initiations.values().all(|n| n == 1),
        "0 end-to-end ids initiated twice: {counters}"
    );
    assert_eq!(
        pass(&world.engine, WorkKind::PaymentReconcile).await.claimed,
        0,
        "no work is left"
    );
}
on_both_stores!(
    dropped_answers,
    a_payment_whose_answer_was_dropped_is_found_in_the_debtor_account_not_sent_again
);

/// The offsets from `since` of every status poll the sandbox logged for `bank_payment_id`, in whole seconds.
async fn logged_polls(world: &World, bank: &str, bank_payment_id: &str, since: DateTime<Utc>) -> Vec<i64> {
    world.counters(bank).await["statusPolls"][bank_payment_id]
        .as_array()
        .expect("the payment's polls")
        .iter()
        .map(|at| {
            let at: DateTime<Utc> = serde_json::from_value(at.clone()).expect("a time");
            (at - since).num_milliseconds() / 1000
        })
        .collect()
}

async fn the_bank_sees_the_guides_schedule_the_back_off_and_the_24_hour_stop(store: Backend) {
    let mut sandbox = SandboxConfig::default();
    sandbox.profiles.entry("seb".into()).or_default().payments.pending_share = 1.0;
    let world = World::start(store, start(), sandbox).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world.sent_payment(&ctx, payment_input("seb", "5.00")).await;
    let submitted = world.clock.now();
    let state = world.engine.payment(id).await.expect("payment").state.expect("state");
    let bank_payment_id = state.bank_payment_id.expect("the bank's id");
    let key = id.to_string();
    let poll_at_next_due = || async {
        let next = due(&world.engine, WorkKind::PaymentPoll, &key).await;
        let Some(next) = next else {
            return false;
        };
        world.clock.set(next.max(world.clock.now()));
        pass(&world.engine, WorkKind::PaymentPoll).await;
        true
    };

    // The first three polls fail at the bank: each next one comes attempts × 1 s later.
    let failing = consentry_sandbox::Faults {
        error_rate: 1.0,
        ..consentry_sandbox::Faults::default()
    };
    world.set_faults("seb", &failing).await;
    for _ in 0..3 {
        assert!(poll_at_next_due().await);
    }
    world.set_faults("seb", &consentry_sandbox::Faults::default()).await;
    let mut passes = 0;
    while poll_at_next_due().await {
        passes += 1;
        assert!(passes < 400, "polling ends within 24 hours");
    }

    // Then the guide's schedule: every 5 s in the first minute, every 30 s until 5 minutes, every 5 minutes
    // after, and none from 24 hours on; the payment says polling stopped.
    let mut expected = vec![5, 6, 8, 11];
    expected.extend((3..=12).map(|k| k * 5));
    expected.extend((3..=10).map(|k| k * 30));
    expected.extend((2..288).map(|k| k * 300));
    let polls = logged_polls(&world, "seb", &bank_payment_id, submitted).await;
    assert_eq!(polls, expected);
    let state = world.engine.payment(id).await.expect("payment").state.expect("state");
    assert!(state.polling_stopped, "{state:?}");
    assert_eq!(state.status.map(|s| s.code()), Some("PDNG"));
}
on_both_stores!(
    poll_log,
    the_bank_sees_the_guides_schedule_the_back_off_and_the_24_hour_stop
);

async fn an_attempt_turned_away_before_it_reached_the_bank_is_retried_on_its_own(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = world
        .engine
        .request_payment(&ctx, payment_input("swedbank", "7.00"))
        .await
        .expect("request");
    let busy = consentry_sandbox::Faults {
        too_many_requests_rate: 1.0,
        retry_after_secs: Some(30),
        ..consentry_sandbox::Faults::default()
    };
    world.set_faults("swedbank", &busy).await;
    world
        .engine
        .send_payment(&ctx, id, "192.0.2.10", None)
        .await
        .expect("the attempt is recorded");
    world
        .set_faults("swedbank", &consentry_sandbox::Faults::default())
        .await;
    let key = id.to_string();
    let retry = due(&world.engine, WorkKind::PaymentSend, &key)
        .await
        .expect("a retry is due");
    assert_eq!(
        retry - world.clock.now(),
        Duration::seconds(30),
        "the bank's Retry-After"
    );
    assert_eq!(
        pass(&world.engine, WorkKind::PaymentSend).await.claimed,
        0,
        "not before it"
    );

    world.clock.set(retry);
    let sent = pass(&world.engine, WorkKind::PaymentSend).await;
    assert_eq!((sent.claimed, sent.done), (1, 1), "{sent:?}");
    let state = world.engine.payment(id).await.expect("payment").state.expect("state");
    assert_eq!(
        (state.phase, state.attempts),
        (consentry_domain::payment::InitiationPhase::Submitted, 2)
    );
    assert_eq!(due(&world.engine, WorkKind::PaymentSend, &key).await, None);
    assert!(
        due(&world.engine, WorkKind::PaymentPoll, &key).await.is_some(),
        "polled from here"
    );
    let counters = world.counters("swedbank").await;
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("per end-to-end id");
    assert!(
        initiations.values().all(|n| n == 1),
        "the 429 created nothing: {counters}"
    );
}
on_both_stores!(
    automatic_retry,
    an_attempt_turned_away_before_it_reached_the_bank_is_retried_on_its_own
);
