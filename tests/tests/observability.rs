//! `/metrics`, `/healthz` and `/readyz` of a running server, on both stores: bank calls, HTTP requests and
//! projection lag are there, and no label carries a user, consent or tenant id.

use chrono::{DateTime, NaiveDate, Utc};
use consentry::RequestContext;
use consentry_domain::bank::PsuContext;
use consentry_domain::UserId;
use consentry_sandbox::SandboxConfig;
use consentry_tests::{on_both_stores, settle, Backend, World};
use serde_json::Value;

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid start")
        .and_utc()
}

async fn the_service_reports_on_itself(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let base = world.server.base_url();
    let healthz = world
        .browser
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(healthz.status(), 200);

    let (tenant, key) = world.engine.create_tenant("observed").await.expect("tenant");
    let user = UserId::new();
    let ctx = RequestContext::user(tenant, user);
    let consent = world.valid_consent(&ctx, "swedbank").await;
    world
        .engine
        .sync_consent(&ctx, consent, &PsuContext::present("192.0.2.10"))
        .await
        .expect("sync");
    let consents = world
        .browser
        .get(format!("{base}/v1/users/{user}/consents"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("consents");
    assert_eq!(consents.status(), 200);
    settle(&world.engine).await;

    let ready = world
        .browser
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.expect("readiness");
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        ready["projections"].as_array().map(Vec::len),
        Some(consentry_projections::Projection::ALL.len()),
        "{ready}"
    );

    let metrics = world
        .browser
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for expected in [
        r#"consentry_http_requests_total{route="/v1/users/{user}/consents",method="GET",status="200"}"#,
        r#"consentry_http_request_duration_seconds_bucket{route="/v1/users/{user}/consents",method="GET""#,
        r#"consentry_bank_calls_total{bank="swedbank",operation="#,
        r#"consentry_bank_call_duration_seconds_bucket{bank="swedbank",operation="#,
        r#"consentry_projection_lag_events{projection="spending"} 0"#,
        r#"consentry_projection_lag_seconds{projection="consents"} 0"#,
        // The consent's expiry is scheduled, not yet due; its first scheduled sync is due, and nothing leased.
        r#"consentry_due_work{kind="consentExpiry"} 0"#,
        r#"consentry_due_work_oldest_seconds{kind="consentSync"}"#,
        r#"consentry_due_work_leased{kind="consentSync"} 0"#,
    ] {
        assert!(metrics.contains(expected), "/metrics lacks {expected}:\n{metrics}");
    }
    for id in [user.to_string(), consent.to_string(), tenant.to_string()] {
        assert!(!metrics.contains(&id), "an id reached a label: {id}");
    }
}
on_both_stores!(observability, the_service_reports_on_itself);
