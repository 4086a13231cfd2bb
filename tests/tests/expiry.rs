//! The expiry job on both stores: on its last valid day nothing expires; the day after, every consent still
//! received or valid expires, as a job of its own tenant, and nothing else changes; a stale read model makes the
//! aggregates decline rather than expire anything twice; run periodically beside the live projections, it expires
//! a consent once its day has passed.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use consentry::consents::expiry::spawn_expiry_job;
use consentry::{Engine, RequestContext};
use consentry_domain::consent::{ConsentCommand, ConsentEvent, ConsentStatus, ExpiryCause, RevokedBy};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{Actor, Clock, ConsentId, TenantId, UserId};
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

    // The last valid day: nothing has lapsed.
    clock.advance(Duration::days(10));
    settle(&engine).await;
    let run = engine.expire_lapsed_consents().await.expect("job");
    assert!(run.expired.is_empty() && run.declined.is_empty(), "{run:?}");

    // The day after: the received and valid ones of every tenant expire; the later and the revoked do not.
    clock.advance(Duration::days(1));
    let run = engine.expire_lapsed_consents().await.expect("job");
    let mut expected = vec![valid, pending, elsewhere];
    expected.sort_by_key(|id| id.to_string());
    assert_eq!(run.expired, expected, "{run:?}");
    assert!(run.declined.is_empty(), "{run:?}");
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

    // Before the projections caught up, the read model still proposes them: the aggregates decline.
    let stale = engine.expire_lapsed_consents().await.expect("job");
    assert!(stale.expired.is_empty(), "{stale:?}");
    assert_eq!(stale.declined.len(), 3, "{stale:?}");
    assert!(stale.declined.iter().all(|(_, why)| why.contains("final")), "{stale:?}");
    settle(&engine).await;
    let after = engine.expire_lapsed_consents().await.expect("job");
    assert!(after.expired.is_empty() && after.declined.is_empty(), "{after:?}");
}
on_both_stores!(lapsed, lapsed_consents_expire_by_the_clock);

/// `serve`'s wiring: the live projections follow the log and the job runs every 50 ms. (The timeout only
/// guards against a hang.)
async fn the_periodic_job_expires_a_lapsed_consent(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let engine = Arc::new(engine);
    let user = RequestContext::user(TenantId::new(), UserId::new());
    let id = consent(&engine, &user, 10, true).await;
    let _projections = engine.start_projections();
    let job = spawn_expiry_job(engine.clone(), StdDuration::from_millis(50));
    clock.advance(Duration::days(11));
    tokio::time::timeout(StdDuration::from_secs(30), async {
        while status(&engine, id).await != Some(ConsentStatus::Expired) {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    })
    .await
    .expect("the job expires the consent");
    job.abort();
    let history = engine.consent_history(id).await.expect("history");
    let expiries = history
        .iter()
        .filter(|e| matches!(e.event, ConsentEvent::ConsentExpired { .. }))
        .count();
    assert_eq!(expiries, 1);
}
on_both_stores!(periodic, the_periodic_job_expires_a_lapsed_consent);
