//! Consent expiry as due work, on both stores: on its last valid day nothing is due; the day after, every consent
//! still received or valid expires, as a job of its own tenant, and nothing else changes; the work is done once
//! and none is left; and `serve`'s scheduler, beside the live projections, expires a consent once its day has
//! passed.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use consentry::scheduler::{spawn_scheduler, Pass, SchedulerConfig};
use consentry::{Engine, RequestContext};
use consentry_domain::consent::{ConsentCommand, ConsentEvent, ConsentStatus, ExpiryCause, RevokedBy};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{Actor, Clock, ConsentId, TenantId, UserId};
use consentry_projections::read_models::due_work::WorkKind;
use consentry_tests::{consent_input, on_both_stores, settle, Backend, TestDb};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 7, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

/// A consent at Swedbank valid until `days` after the start, authorised when `authorise`.
async fn consent(engine: &Engine, ctx: &RequestContext, days: i64, authorise: bool) -> ConsentId {
    let valid_until = start().date_naive() + Duration::days(days);
    let id = engine
        .request_consent(ctx, consent_input("swedbank", valid_until))
        .await
        .expect("request");
    if authorise {
        let record = ConsentCommand::RecordBankConsent {
            bank_consent_id: format!("bank-{id}"),
            sca: ScaLinks::default(),
        };
        engine.execute_consent(ctx, id, record).await.expect("record");
        engine
            .execute_consent(ctx, id, ConsentCommand::Authorise)
            .await
            .expect("authorise");
    }
    id
}

async fn status(engine: &Engine, id: ConsentId) -> Option<ConsentStatus> {
    engine.consent(id).await.expect("load").status()
}

/// One scheduler pass over the expiries due now, after the read models caught up with the log.
async fn expiries(engine: &Engine) -> Pass {
    settle(engine).await;
    let config = SchedulerConfig {
        owner: "test".into(),
        ..SchedulerConfig::default()
    };
    engine
        .run_due_work(&[WorkKind::ConsentExpiry], &config)
        .await
        .expect("a pass")
}

async fn lapsed_consents_expire_by_the_clock(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let user = RequestContext::user(TenantId::new(), UserId::new());
    let other_tenant = RequestContext::user(TenantId::new(), UserId::new());
    let valid = consent(&engine, &user, 10, true).await;
    let pending = consent(&engine, &user, 10, false).await;
    let later = consent(&engine, &user, 20, true).await;
    let revoked = consent(&engine, &user, 10, true).await;
    engine
        .execute_consent(&user, revoked, ConsentCommand::Revoke { by: RevokedBy::Psu })
        .await
        .expect("revoke");
    let elsewhere = consent(&engine, &other_tenant, 10, true).await;

    // The last valid day: nothing is due.
    clock.advance(Duration::days(10));
    let pass = expiries(&engine).await;
    assert_eq!(pass.claimed, 0, "{pass:?}");

    // The day after: the received and valid ones of every tenant expire; the later and the revoked do not.
    clock.advance(Duration::days(1));
    let pass = expiries(&engine).await;
    assert_eq!((pass.claimed, pass.done), (3, 3), "{pass:?}");
    for id in [valid, pending, elsewhere] {
        assert_eq!(status(&engine, id).await, Some(ConsentStatus::Expired));
        let history = engine.consent_history(id).await.expect("history");
        let last = history.last().expect("events");
        assert_eq!(
            last.event,
            ConsentEvent::ConsentExpired {
                cause: ExpiryCause::ValidUntilPassed
            }
        );
        assert_eq!(last.metadata.actor, Actor::Job);
        let tenant = if id == elsewhere {
            other_tenant.tenant
        } else {
            user.tenant
        };
        assert_eq!(last.metadata.tenant, tenant, "the consent's own tenant");
        assert_eq!(last.metadata.occurred_at, clock.now());
    }
    assert_eq!(status(&engine, later).await, Some(ConsentStatus::Valid));
    assert_eq!(status(&engine, revoked).await, Some(ConsentStatus::RevokedByPsu));

    // The work is done once: nothing is left, and the later consent's expiry waits for its own day.
    assert_eq!(expiries(&engine).await.claimed, 0);
    clock.advance(Duration::days(10));
    assert_eq!(expiries(&engine).await.done, 1);
    assert_eq!(status(&engine, later).await, Some(ConsentStatus::Expired));
}
on_both_stores!(lapsed, lapsed_consents_expire_by_the_clock);

/// `serve`'s wiring: the live projections follow the log and the scheduler waits at most 50 ms between looks.
/// (The timeout only guards against a hang.)
async fn the_scheduler_expires_a_lapsed_consent(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let engine = Arc::new(engine);
    let user = RequestContext::user(TenantId::new(), UserId::new());
    let id = consent(&engine, &user, 10, true).await;
    let _projections = engine.start_projections();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let config = SchedulerConfig {
        owner: "serve".into(),
        idle: StdDuration::from_millis(50),
        ..SchedulerConfig::default()
    };
    let scheduler = spawn_scheduler(engine.clone(), config, stopping);
    clock.advance(Duration::days(11));
    tokio::time::timeout(StdDuration::from_secs(30), async {
        while status(&engine, id).await != Some(ConsentStatus::Expired) {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    })
    .await
    .expect("the scheduler expires the consent");
    stop.send_replace(true);
    scheduler.await.expect("the scheduler stops");
    let history = engine.consent_history(id).await.expect("history");
    let expiries = history
        .iter()
        .filter(|e| matches!(e.event, ConsentEvent::ConsentExpired { .. }))
        .count();
    assert_eq!(expiries, 1);
}
on_both_stores!(scheduled, the_scheduler_expires_a_lapsed_consent);
