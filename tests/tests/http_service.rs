//! The API as a service, on both stores: the OpenAPI document lists exactly the routes the router serves;
//! bad input on every route is a problem document and stores nothing; a consent is read with its budget,
//! refreshed with the user present right after its callback, and terminated at the bank; Idempotency-Key
//! replays, refuses and serialises; and the server's limits (rates, body size, timeouts, security headers,
//! graceful shutdown) hold. Every answer is checked against the document by `World::call`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use consentry::http::{HttpConfig, HttpServer, RateLimit};
use consentry_domain::UserId;
use consentry_sandbox::{Faults, SandboxConfig};
use consentry_tests::{count_events, on_both_stores, Backend, World};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("valid time")
        .and_utc()
}

const PROBLEMS: &str = "https://consentry.dev/problems/";

fn assert_problem(answer: &(u16, Value), status: u16, slug: &str, field: Option<&str>) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["type"], format!("{PROBLEMS}{slug}"), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
}

/// The operations of the document: (method, path template, whether it needs a key).
fn operations(document: &Value) -> Vec<(String, String, bool)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let public = operation["security"] == json!([{}]);
            found.push((method.to_uppercase(), path.clone(), !public));
        }
    }
    found
}

fn concrete(template: &str, user: UserId) -> String {
    template
        .replace("{user}", &user.to_string())
        .replace("{consent}", &uuid::Uuid::new_v4().to_string())
        .replace("{rule}", &uuid::Uuid::new_v4().to_string())
}

#[test]
fn the_document_lists_every_route_the_router_serves() {
    let document = serde_json::to_value(consentry::http::openapi()).expect("document");
    assert!(document["openapi"].as_str().unwrap_or_default().starts_with("3.1"));
    let documented: BTreeSet<String> = document["paths"].as_object().expect("paths").keys().cloned().collect();
    let registered: BTreeSet<String> = consentry::http::registered_paths().into_iter().collect();
    assert!(!registered.is_empty(), "the router's paths are found");
    assert_eq!(
        registered, documented,
        "a route is missing from the OpenAPI document, or a document from the router"
    );
    let scheme = &document["components"]["securitySchemes"]["apiKey"];
    assert_eq!((&scheme["type"], &scheme["scheme"]), (&json!("http"), &json!("bearer")));
    assert!(document["components"]["schemas"]["Problem"].is_object());
    for (method, path, keyed) in operations(&document) {
        let responses = &document["paths"][&path][method.to_lowercase()]["responses"];
        if keyed {
            let unauthorised = &responses["401"]["content"]["application/problem+json"];
            assert!(unauthorised.is_object(), "{method} {path} documents its problems");
        }
    }
}

async fn every_route_refuses_bad_input_and_stores_nothing(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let (tenant_b, key_b) = world.engine.create_tenant("Fintech B").await.expect("tenant B");
    let user = UserId::new();
    let document = world.document().await.clone();

    // Every documented route answers, with the methods the document gives it; the keyed ones refuse a call
    // without a key, or with an unknown one, as a problem.
    for (method, template, keyed) in operations(&document) {
        let path = concrete(&template, user);
        let answer = world.call(&method, &path, None, None).await;
        if keyed {
            assert_problem(&answer, 401, "unauthorized", None);
            let answer = world.call(&method, &path, Some("cs_unknown"), None).await;
            assert_problem(&answer, 401, "unauthorized", None);
        } else {
            assert!(answer.0 != 404 && answer.0 != 405, "{method} {path}: {}", answer.1);
        }
    }
    assert_problem(
        &world.call("GET", "/v1/nothing-here", Some(&key), None).await,
        404,
        "unknown-route",
        None,
    );
    assert_problem(
        &world.call("PUT", "/v1/categorisation-rules", Some(&key), None).await,
        405,
        "method-not-allowed",
        None,
    );

    let events = count_events(world.engine.database()).await;
    // Ids that are not UUIDs, on every route that takes one.
    for (method, template, keyed) in operations(&document) {
        if !keyed || !template.contains('{') {
            continue;
        }
        let body = (method == "POST").then(|| json!({ "psuIpAddress": "192.0.2.1", "bank": "seb" }));
        let path = template
            .replace("{user}", "not-a-uuid")
            .replace("{rule}", "nope")
            .replace("{consent}", &uuid::Uuid::new_v4().to_string())
            .replace("{payment}", &uuid::Uuid::new_v4().to_string());
        // Query parameters are read before the path's ids: the spending route gets a good month.
        let path = if template.ends_with("/spending") {
            format!("{path}?month=2026-05")
        } else {
            path
        };
        let answer = world.call(&method, &path, Some(&key), body).await;
        let field = if template.contains("{rule}") {
            "ruleId"
        } else {
            "userId"
        };
        assert_problem(&answer, 400, "invalid-field", Some(field));
        for (segment, field) in [("{consent}", "consentId"), ("{payment}", "paymentId")] {
            if template.contains(segment) {
                let path = template
                    .replace("{user}", &user.to_string())
                    .replace(segment, "not-a-uuid");
                let answer = world.call(&method, &path, Some(&key), None).await;
                assert_problem(&answer, 400, "invalid-field", Some(field));
            }
        }
    }

    // Bodies: not JSON, wrong types, unknown and missing fields, not JSON at all, too large, hostile values.
    let connections = format!("/v1/users/{user}/connections");
    let refresh = format!("/v1/users/{user}/refresh");
    let raw = |path: &str, content_type: &str, body: Vec<u8>| {
        world
            .request("POST", path, Some(&key), None)
            .header("content-type", content_type.to_owned())
            .body(body)
    };
    for path in [&connections, &refresh, &"/v1/categorisation-rules".to_owned()] {
        let answer = world
            .send("POST", path, raw(path, "application/json", b"{".to_vec()))
            .await;
        assert_problem(&(answer.status, answer.body), 400, "malformed-body", None);
        let answer = world.send("POST", path, raw(path, "text/plain", b"{}".to_vec())).await;
        assert_problem(&(answer.status, answer.body), 415, "unsupported-media-type", None);
    }
    // A body announced larger than the limit is refused before it is read.
    let address = world.server.base_url().trim_start_matches("http://").to_owned();
    let mut client = tokio::net::TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST {connections} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        2 * 1024 * 1024
    );
    client.write_all(head.as_bytes()).await.expect("write");
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), client.read(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains(&format!("{PROBLEMS}payload-too-large")), "{answer}");

    let cases = [
        (
            json!({ "bank": 7, "psuIpAddress": "192.0.2.1" }),
            "malformed-body",
            "bank",
        ),
        (
            json!({ "bank": "seb", "psuIpAddress": "192.0.2.1", "colour": "red" }),
            "malformed-body",
            "colour",
        ),
        (json!({ "psuIpAddress": "192.0.2.1" }), "malformed-body", "bank"),
        (
            json!({ "bank": "seb", "psuIpAddress": "192.0.2.1\r\nX-Evil: 1" }),
            "invalid-field",
            "psuIpAddress",
        ),
        (
            json!({ "bank": "seb", "psuIpAddress": "localhost" }),
            "invalid-field",
            "psuIpAddress",
        ),
        (
            json!({ "bank": "seb", "psuIpAddress": "192.0.2.1", "validUntil": "2026-11-29" }),
            "invalid-field",
            "validUntil",
        ),
        (
            json!({ "bank": "seb", "psuIpAddress": "192.0.2.1", "validUntil": "2026-13-01" }),
            "malformed-body",
            "validUntil",
        ),
        (
            json!({ "bank": "seb", "psuIpAddress": "192.0.2.1", "frequencyPerDay": 0 }),
            "invalid-field",
            "frequencyPerDay",
        ),
    ];
    for (body, slug, field) in cases {
        let answer = world.call("POST", &connections, Some(&key), Some(body.clone())).await;
        assert_problem(&answer, 400, slug, Some(field));
    }
    for (body, slug, field) in [
        (
            json!({ "psuIpAddress": "1.2.3.4\r\n" }),
            "invalid-field",
            "psuIpAddress",
        ),
        (
            json!({ "psuIpAddress": "1.2.3.4", "extra": true }),
            "malformed-body",
            "extra",
        ),
        (json!({}), "malformed-body", "psuIpAddress"),
    ] {
        let answer = world.call("POST", &refresh, Some(&key), Some(body)).await;
        assert_problem(&answer, 400, slug, Some(field));
    }
    let rule = json!({ "category": "x", "flow": "sideways", "match": "keyword", "keyword": "Rimi" });
    let answer = world
        .call("POST", "/v1/categorisation-rules", Some(&key), Some(rule))
        .await;
    assert_problem(&answer, 400, "malformed-body", Some("flow"));
    let present = world
        .request("GET", &format!("/v1/users/{user}/balances"), Some(&key), None)
        .header("PSU-IP-Address", "not-an-address");
    let answer = world.send("GET", "/v1/users/x/balances", present).await;
    assert_problem(
        &(answer.status, answer.body),
        400,
        "invalid-field",
        Some("PSU-IP-Address"),
    );
    let answer = world
        .call("GET", &format!("/v1/users/{user}/spending"), Some(&key), None)
        .await;
    assert_problem(&answer, 400, "invalid-field", Some("month"));

    // Nothing refused was stored.
    assert_eq!(
        count_events(world.engine.database()).await,
        events,
        "no event was stored"
    );
    let (_, listed) = world.call("GET", "/v1/categorisation-rules", Some(&key), None).await;
    assert_eq!(listed["rules"], json!([]));

    // Another tenant's consent is not found, read or terminated; it stays as it was.
    let ctx_b = consentry::RequestContext::user(tenant_b, user);
    let theirs = world.valid_consent(&ctx_b, "seb").await;
    let path = format!("/v1/users/{user}/consents/{theirs}");
    assert_problem(
        &world.call("GET", &path, Some(&key), None).await,
        404,
        "not-found",
        None,
    );
    assert_problem(
        &world.call("DELETE", &path, Some(&key), None).await,
        404,
        "not-found",
        None,
    );
    let other_user = format!("/v1/users/{}/consents/{theirs}", UserId::new());
    assert_problem(
        &world.call("GET", &other_user, Some(&key_b), None).await,
        404,
        "not-found",
        None,
    );
    let (status, mine) = world.call("GET", &path, Some(&key_b), None).await;
    assert_eq!((status, &mine["status"]), (200, &json!("valid")), "{mine}");
}
on_both_stores!(bad_input, every_route_refuses_bad_input_and_stores_nothing);

async fn a_consent_is_read_refreshed_and_terminated(store: Backend) {
    let world = World::start(
        store,
        start(),
        SandboxConfig {
            auto_approve: false,
            ..SandboxConfig::default()
        },
    )
    .await;
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let user = UserId::new();
    let body = json!({ "bank": "swedbank", "psuIpAddress": "2001:db8::7" });
    let (status, created) = world
        .call("POST", &format!("/v1/users/{user}/connections"), Some(&key), Some(body))
        .await;
    assert_eq!(status, 201, "{created}");
    let consent = created["consentId"].as_str().expect("consent id").to_owned();
    let link = created["scaRedirect"].as_str().expect("redirect link");
    let landed = world.decide_on_page(link, "approve").await;
    assert_eq!(landed.status().as_u16(), 200);
    for (header, value) in [
        ("cache-control", "no-store"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(landed.headers()[header], value);
    }
    let csp = landed.headers()["content-security-policy"].to_str().unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // The first refresh right after the callback syncs the new consent (no waiting for the projections).
    let refresh = format!("/v1/users/{user}/refresh");
    let (status, refreshed) = world
        .call(
            "POST",
            &refresh,
            Some(&key),
            Some(json!({ "psuIpAddress": "192.0.2.10" })),
        )
        .await;
    assert_eq!(status, 200, "{refreshed}");
    assert_eq!(refreshed["failures"], json!([]));
    assert_eq!(refreshed["synced"].as_array().map(Vec::len), Some(1), "{refreshed}");
    assert_eq!(refreshed["synced"][0]["consentId"], consent.as_str());
    assert!(refreshed["synced"][0]["accounts"].as_u64() > Some(0), "{refreshed}");

    // The consent with its budget: the user-present refresh did not count; an unattended read does.
    let one = format!("/v1/users/{user}/consents/{consent}");
    let (status, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["status"], "valid");
    assert_eq!(
        detail["unattendedBudget"],
        json!({ "perDay": 4, "usedToday": 0, "leftToday": 4 }),
        "{detail}"
    );
    assert_eq!(detail["nextUnattendedSync"], json!("2026-06-01T10:00:00Z"), "{detail}");
    assert!(
        detail["nextScheduledSync"].is_string(),
        "a valid consent has its next scheduled sync: {detail}"
    );
    let (status, _) = world
        .call("GET", &format!("/v1/users/{user}/balances"), Some(&key), None)
        .await;
    assert_eq!(status, 200);
    let (_, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(detail["unattendedBudget"]["leftToday"], 3, "{detail}");

    // Terminated: at the bank first, then terminatedByTpp; a second time is a conflict.
    let (status, ended) = world.call("DELETE", &one, Some(&key), None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended, json!({ "consentId": consent, "status": "terminatedByTpp" }));
    let id = consentry_domain::ConsentId::parse(&consent).expect("id");
    let state = world.engine.consent(id).await.expect("consent").state.expect("state");
    let bank_consent = state.stage.bank_consent().expect("bank consent").id.clone();
    let bank = world
        .engine
        .bank(&consentry_domain::BankId::parse("swedbank").expect("bank"))
        .expect("swedbank");
    let at_bank = bank
        .port
        .consent_status(&bank_consent)
        .await
        .expect("status at the bank");
    assert_eq!(at_bank, consentry_domain::consent::ConsentStatus::TerminatedByTpp);
    assert_problem(
        &world.call("DELETE", &one, Some(&key), None).await,
        409,
        "conflict",
        None,
    );
    let (_, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(
        (
            &detail["status"],
            &detail["nextUnattendedSync"],
            &detail["nextScheduledSync"]
        ),
        (&json!("terminatedByTpp"), &Value::Null, &Value::Null),
        "{detail}"
    );
}
on_both_stores!(consent_lifecycle, a_consent_is_read_refreshed_and_terminated);

async fn idempotency_keys_replay_refuse_and_serialise(store: Backend) {
    let world = Arc::new(World::start(store, start(), SandboxConfig::default()).await);
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let (_, key_b) = world.engine.create_tenant("Fintech B").await.expect("tenant B");
    let rules = "/v1/categorisation-rules";
    let rule = json!({ "category": "treats", "flow": "spending", "match": "keyword", "keyword": "Maxima" });
    let post = |key: &str, idempotency: &str, body: &Value| {
        world
            .request("POST", rules, Some(key), Some(body))
            .header("Idempotency-Key", idempotency.to_owned())
    };
    let first = world.send("POST", rules, post(&key, "rule-1", &rule)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    // The same body with its fields in another order is the same request.
    let reordered = json!({ "keyword": "Maxima", "match": "keyword", "flow": "spending", "category": "treats" });
    let again = world.send("POST", rules, post(&key, "rule-1", &reordered)).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other = json!({ "category": "treats", "flow": "spending", "match": "keyword", "keyword": "Rimi" });
    let refused = world.send("POST", rules, post(&key, "rule-1", &other)).await;
    assert_problem(
        &(refused.status, refused.body),
        422,
        "idempotency-key-reused",
        Some("Idempotency-Key"),
    );
    // Keys are per tenant.
    let theirs = world.send("POST", rules, post(&key_b, "rule-1", &other)).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    // A refused request keeps no answer: the key can be used once the body is right.
    let bad = json!({ "category": "x" });
    let refused = world.send("POST", rules, post(&key, "rule-2", &bad)).await;
    assert_eq!(refused.status, 400);
    let fixed = world.send("POST", rules, post(&key, "rule-2", &other)).await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
    let (_, listed) = world.call("GET", rules, Some(&key), None).await;
    assert_eq!(listed["rules"].as_array().map(Vec::len), Some(2), "{listed}");

    // Kept at least 24 hours: refused after 23, a new request after 25.
    world.clock.advance(chrono::Duration::hours(23));
    let refused = world.send("POST", rules, post(&key, "rule-1", &other)).await;
    assert_eq!(refused.status, 422);
    world.clock.advance(chrono::Duration::hours(2));
    let later = world.send("POST", rules, post(&key, "rule-1", &other)).await;
    assert_eq!(later.status, 201);
    assert_ne!(later.body["id"], first.body["id"]);

    // Concurrent requests with one key connect the bank once, and all get the one answer.
    let user = UserId::new();
    let connections = format!("/v1/users/{user}/connections");
    let body = json!({ "bank": "seb", "psuIpAddress": "192.0.2.10" });
    let sends = (0..6).map(|_| {
        let world = world.clone();
        let (connections, body, key) = (connections.clone(), body.clone(), key.clone());
        async move {
            let request = world
                .request("POST", &connections, Some(&key), Some(&body))
                .header("Idempotency-Key", "connect-once");
            world.send("POST", &connections, request).await
        }
    });
    let answers = futures::future::join_all(sends).await;
    let ids: BTreeSet<String> = answers
        .iter()
        .map(|a| {
            assert_eq!(a.status, 201, "{}", a.body);
            a.body["consentId"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "one consent for one key: {ids:?}");
    let (_, consents) = world
        .call("GET", &format!("/v1/users/{user}/consents"), Some(&key), None)
        .await;
    assert_eq!(consents["consents"].as_array().map(Vec::len), Some(1), "{consents}");
}
on_both_stores!(idempotency, idempotency_keys_replay_refuse_and_serialise);

async fn the_server_keeps_its_limits(store: Backend) {
    let config = HttpConfig {
        rate_limit: RateLimit {
            per_second: 0.01,
            burst: 3,
        },
        request_timeout: Duration::from_millis(1500),
        header_read_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    };
    let world = World::start_with(store, start(), SandboxConfig::default(), config).await;
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let (_, key_b) = world.engine.create_tenant("Fintech B").await.expect("tenant B");
    let rules = "/v1/categorisation-rules";

    // The scheme's name in any case.
    for scheme in ["bearer", "BEARER"] {
        let request = world
            .browser
            .get(format!("{}{rules}", world.server.base_url()))
            .header("authorization", format!("{scheme} {key}"));
        assert_eq!(world.send("GET", rules, request).await.status, 200, "{scheme}");
    }
    // Three a burst, then 429 with Retry-After; another tenant has its own rate.
    assert_eq!(world.call("GET", rules, Some(&key), None).await.0, 200);
    let limited = world
        .send("GET", rules, world.request("GET", rules, Some(&key), None))
        .await;
    let retry_after: u64 = limited
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry_after >= 1, "{retry_after}");
    assert_problem(&(limited.status, limited.body), 429, "rate-limited", None);
    assert_eq!(world.call("GET", rules, Some(&key_b), None).await.0, 200);

    // A slow bank: the request is answered 408 when its time is up.
    world
        .set_faults(
            "seb",
            &Faults {
                latency_ms: 3_000,
                ..Faults::default()
            },
        )
        .await;
    let user = UserId::new();
    let body = json!({ "bank": "seb", "psuIpAddress": "192.0.2.10" });
    let answer = world
        .call(
            "POST",
            &format!("/v1/users/{user}/connections"),
            Some(&key_b),
            Some(body),
        )
        .await;
    assert_problem(&answer, 408, "request-timeout", None);

    // A client that never finishes its headers is cut off.
    let address = world.server.base_url().trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&address).await.expect("connect");
    slow.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buffer)).await;
    assert!(closed.is_ok(), "the connection is closed after the header-read timeout");
}
on_both_stores!(limits, the_server_keeps_its_limits);

async fn a_shutdown_lets_requests_in_flight_finish(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let rates = Arc::new(consentry_adapters::ecb::SnapshotRates::load().expect("rates"));
    let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let server = HttpServer::start(world.engine.clone(), rates, loopback, None)
        .await
        .expect("server");
    let base = server.base_url();
    world
        .set_faults(
            "seb",
            &Faults {
                latency_ms: 700,
                ..Faults::default()
            },
        )
        .await;
    let user = UserId::new();
    let in_flight = {
        let request = world
            .browser
            .post(format!("{base}/v1/users/{user}/connections"))
            .bearer_auth(&key)
            .json(&json!({ "bank": "seb", "psuIpAddress": "192.0.2.10" }));
        tokio::spawn(request.send())
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (stopped, answered) = tokio::join!(server.shutdown(), in_flight);
    stopped.expect("a clean shutdown");
    let answered = answered.expect("joined").expect("the request in flight is answered");
    assert_eq!(answered.status().as_u16(), 201);
    let refused = reqwest::Client::new().get(format!("{base}/openapi.json")).send().await;
    assert!(refused.is_err(), "no connection is accepted after the shutdown");
}
on_both_stores!(shutdown, a_shutdown_lets_requests_in_flight_finish);
