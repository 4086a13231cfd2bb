//! Audits read the event log: every event with its metadata, and the state as of any time.

use chrono::{Duration, NaiveDate};
use consentry::RequestContext;
use consentry_domain::consent::{ConsentCommand, ConsentStatus, RevokedBy};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{Actor, TenantId, UserId};
use consentry_tests::{consent_input, Backend, TestDb};

async fn audit_as_of(store: TestDb) {
    let (engine, clock) = store.engine_at_start().await;
    let tenant = TenantId::new();
    let user = RequestContext::user(tenant, UserId::new());
    let system = RequestContext::system(tenant, user.user);
    let id = engine
        .request_consent(
            &user,
            consent_input("seb", NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()),
        )
        .await
        .unwrap();
    let record = ConsentCommand::RecordBankConsent {
        bank_consent_id: "seb-1".into(),
        sca: ScaLinks::default(),
    };
    engine.execute_consent(&system, id, record).await.unwrap();
    clock.advance(Duration::minutes(5));
    engine
        .execute_consent(&system, id, ConsentCommand::Authorise)
        .await
        .unwrap();
    let while_valid = consentry_domain::Clock::now(clock.as_ref());
    clock.advance(Duration::days(10));
    let revoke = ConsentCommand::Revoke { by: RevokedBy::Psu };
    engine.execute_consent(&user, id, revoke).await.unwrap();

    let trail = engine.audit_consent(id, Some(while_valid)).await.unwrap();
    assert_eq!(trail.events.len(), 4, "every event is listed");
    assert_eq!(trail.state.status(), Some(ConsentStatus::Valid));
    assert!(!trail.is_known(&trail.events[3]));
    assert_eq!(trail.events[3].metadata.actor, Actor::User);
    assert_eq!(trail.events[0].metadata.correlation_id, user.correlation_id);

    let now = engine.audit_consent(id, None).await.unwrap();
    assert_eq!(now.state.status(), Some(ConsentStatus::RevokedByPsu));
    assert_eq!(engine.consent_ids().await.unwrap(), vec![id.to_string()]);
}

#[tokio::test]
async fn postgres_audit_as_of() {
    audit_as_of(TestDb::create(Backend::Postgres).await).await;
}

#[tokio::test]
async fn sqlite_audit_as_of() {
    audit_as_of(TestDb::create(Backend::Sqlite).await).await;
}
