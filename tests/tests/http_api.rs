//! The tenant API over real HTTP, on both stores: API keys required, one tenant never reads another's data,
//! connecting a bank through the redirect SCA, balances aggregated across banks with a total in EUR naming its
//! rates, a failing bank reported next to the data that arrived, the user's consents and payments from the read
//! models, a tenant's categorisation rules, and bad input refused with the field named.

use chrono::{DateTime, NaiveDate, Utc};
use consentry::RequestContext;
use consentry_domain::UserId;
use consentry_sandbox::{Faults, SandboxConfig};
use consentry_tests::{on_both_stores, payment_input, settle, Backend, World};
use serde_json::{json, Value};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("valid time")
        .and_utc()
}

/// Calls the API; every answer is checked against the OpenAPI document (status listed, body valid).
async fn call(world: &World, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
    world.call(method, path, key, body).await
}

const INVALID_FIELD: &str = "https://consentry.dev/problems/invalid-field";
const MALFORMED_BODY: &str = "https://consentry.dev/problems/malformed-body";

/// Asserts a problem answer: its status, type and field.
fn assert_problem(answer: &(u16, Value), status: u16, problem_type: &str, field: Option<&str>) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["type"], problem_type, "{body}");
    assert_eq!(body["field"].as_str(), field, "{body}");
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
}

/// Connects `bank` for `user` through the API and approves on the bank's page.
async fn connect(world: &World, key: &str, user: UserId, bank: &str) {
    let body = json!({ "bank": bank, "psuIpAddress": "192.0.2.10" });
    let (status, created) = call(
        world,
        "POST",
        &format!("/v1/users/{user}/connections"),
        Some(key),
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let link = created["scaRedirect"].as_str().expect("redirect link");
    let landed = world.decide_on_page(link, "approve").await;
    assert_eq!(landed.status().as_u16(), 200);
}

async fn the_api_aggregates_balances_per_tenant(store: Backend) {
    let world = World::start(
        store,
        start(),
        SandboxConfig {
            auto_approve: false,
            ..SandboxConfig::default()
        },
    )
    .await;
    let (tenant_a, key_a) = world.engine.create_tenant("Fintech A").await.expect("tenant A");
    let (_, key_b) = world.engine.create_tenant("Fintech B").await.expect("tenant B");
    let user = UserId::new();
    connect(&world, &key_a, user, "swedbank").await;
    connect(&world, &key_a, user, "seb").await;
    settle(&world.engine).await;

    let present = world
        .browser
        .get(format!("{}/v1/users/{user}/balances", world.server.base_url()))
        .bearer_auth(&key_a)
        .header("PSU-IP-Address", "192.0.2.10")
        .send()
        .await
        .expect("answer");
    assert_eq!(present.status().as_u16(), 200);
    let balances: Value = present.json().await.expect("json");
    assert_eq!(balances["accounts"].as_array().map(Vec::len), Some(8), "{balances}");
    assert_eq!(balances["failures"], json!([]));
    assert_eq!(balances["total"]["amount"]["currency"], "EUR", "{balances}");
    assert_eq!(balances["total"]["ratesDate"], "2026-11-20");
    assert!(balances["total"]["ratesSource"]
        .as_str()
        .unwrap_or_default()
        .contains("snapshot"));
    for account in balances["accounts"].as_array().expect("accounts") {
        assert_eq!(account["balanceType"], "interimAvailable", "{account}");
    }

    // Tenant B's key reads nothing of tenant A's user.
    let (status, other) = call(&world, "GET", &format!("/v1/users/{user}/balances"), Some(&key_b), None).await;
    assert_eq!(status, 200);
    assert_eq!(other["accounts"], json!([]));

    // SEB fails; Swedbank's data still arrives, and SEB is reported with its reason.
    world
        .set_faults(
            "seb",
            &Faults {
                error_rate: 1.0,
                ..Faults::default()
            },
        )
        .await;
    let (status, partial) = call(&world, "GET", &format!("/v1/users/{user}/balances"), Some(&key_a), None).await;
    assert_eq!(status, 200);
    assert_eq!(partial["accounts"].as_array().map(Vec::len), Some(4), "{partial}");
    let failures = partial["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0]["bank"], "seb");

    // Transactions: Swedbank's arrive, merged newest first; SEB is listed as failed.
    let (status, listed) = call(
        &world,
        "GET",
        &format!("/v1/users/{user}/transactions?from=2026-04-01"),
        Some(&key_a),
        None,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let transactions = listed["transactions"].as_array().expect("transactions");
    assert!(!transactions.is_empty());
    assert!(transactions.iter().all(|t| t["bank"] == "swedbank"));
    let dates: Vec<&str> = transactions
        .iter()
        .filter_map(|t| t["bookingDate"].as_str().or(t["valueDate"].as_str()))
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(listed["failures"][0]["bank"], "seb");
    assert_eq!(listed["next"], Value::Null, "one page holds them all");

    // In pages of 2: the first carries `next`, and following the cursors gives the same list.
    let page_path = |cursor: Option<&str>| match cursor {
        Some(cursor) => format!("/v1/users/{user}/transactions?from=2026-04-01&limit=2&cursor={cursor}"),
        None => format!("/v1/users/{user}/transactions?from=2026-04-01&limit=2"),
    };
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (status, page) = call(&world, "GET", &page_path(cursor.as_deref()), Some(&key_a), None).await;
        assert_eq!(status, 200, "{page}");
        let rows = page["transactions"].as_array().expect("transactions");
        assert!(rows.len() <= 2, "{page}");
        paged.extend(rows.iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(&paged, transactions);
    for (query, field) in [("limit=0", "limit"), ("limit=1001", "limit"), ("cursor=zz", "cursor")] {
        let path = format!("/v1/users/{user}/transactions?{query}");
        let refused = call(&world, "GET", &path, Some(&key_a), None).await;
        assert_problem(&refused, 400, INVALID_FIELD, Some(field));
    }
    let (status, spent) = call(
        &world,
        "GET",
        &format!("/v1/users/{user}/spending?month=2026-05"),
        Some(&key_a),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        spent["spending"]
            .as_array()
            .is_some_and(|lines| lines.iter().any(|l| l["category"] == "groceries")),
        "{spent}"
    );
    let (_, none) = call(
        &world,
        "GET",
        &format!("/v1/users/{user}/transactions"),
        Some(&key_b),
        None,
    )
    .await;
    assert_eq!(none["transactions"], json!([]));

    // Consents: both valid, with the days left by the engine's clock (not the database's), which moves them.
    let consents_path = format!("/v1/users/{user}/consents");
    let days_left = |listed: &Value| -> Vec<(String, String, i64)> {
        listed["consents"]
            .as_array()
            .expect("consents")
            .iter()
            .map(|c| {
                let text = |field: &str| c[field].as_str().unwrap_or_default().to_owned();
                (text("bank"), text("status"), c["daysLeft"].as_i64().unwrap_or(i64::MIN))
            })
            .collect()
    };
    let (status, listed) = call(&world, "GET", &consents_path, Some(&key_a), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        days_left(&listed),
        [
            ("seb".into(), "valid".into(), 89),
            ("swedbank".into(), "valid".into(), 89)
        ],
        "{listed}"
    );
    world.clock.advance(chrono::Duration::days(10));
    let (_, later) = call(&world, "GET", &consents_path, Some(&key_a), None).await;
    assert_eq!(
        days_left(&later),
        [
            ("seb".into(), "valid".into(), 79),
            ("swedbank".into(), "valid".into(), 79)
        ],
        "{later}"
    );
    let (_, none) = call(&world, "GET", &consents_path, Some(&key_b), None).await;
    assert_eq!(none["consents"], json!([]));

    // Payments: a requested order, with its amount exact and its (so far empty) status history.
    let id = world
        .engine
        .request_payment(
            &RequestContext::user(tenant_a, user),
            payment_input("swedbank", "1234.56"),
        )
        .await
        .expect("payment");
    // No catch-up here: the endpoint reads its own writes.
    let payments_path = format!("/v1/users/{user}/payments");
    let (status, listed) = call(&world, "GET", &payments_path, Some(&key_a), None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["payments"].as_array().map(Vec::len), Some(1), "{listed}");
    let order = &listed["payments"][0];
    assert_eq!(order["payment"], id.to_string());
    assert_eq!(
        order["amount"],
        json!({ "amount": "1234.56", "currency": "EUR" }),
        "{order}"
    );
    assert_eq!(
        (&order["phase"], &order["history"]),
        (&json!("ready"), &json!([])),
        "{order}"
    );
    let (_, none) = call(&world, "GET", &payments_path, Some(&key_b), None).await;
    assert_eq!(none["payments"], json!([]));
}
on_both_stores!(aggregated_balances, the_api_aggregates_balances_per_tenant);

async fn the_api_refuses_missing_keys_and_bad_input(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech A").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/balances");
    let unauthorised = "https://consentry.dev/problems/unauthorized";
    assert_problem(&call(&world, "GET", &path, None, None).await, 401, unauthorised, None);
    assert_problem(
        &call(&world, "GET", &path, Some("cs_not_a_key"), None).await,
        401,
        unauthorised,
        None,
    );

    let refused = call(&world, "GET", "/v1/users/not-a-uuid/balances", Some(&key), None).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("userId"));
    let refused = call(
        &world,
        "GET",
        &format!("/v1/users/{user}/spending?month=May"),
        Some(&key),
        None,
    )
    .await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("month"));
    let refused = call(&world, "GET", &format!("{path}?base=XYZ"), Some(&key), None).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("base"));
    // Query parameters that do not parse at all: a problem naming the parameter.
    for (query, parameter) in [("from=2026-13-01", "from"), ("limit=ten", "limit")] {
        let path = format!("/v1/users/{user}/transactions?{query}");
        let refused = call(&world, "GET", &path, Some(&key), None).await;
        assert_problem(&refused, 400, INVALID_FIELD, Some(parameter));
    }
    let connections = format!("/v1/users/{user}/connections");
    let refused = call(
        &world,
        "POST",
        &connections,
        Some(&key),
        Some(json!({ "psuIpAddress": "1.2.3.4" })),
    )
    .await;
    assert_problem(&refused, 400, MALFORMED_BODY, Some("bank"));
    let body = json!({ "bank": "nordea", "psuIpAddress": "1.2.3.4" });
    let refused = call(&world, "POST", &connections, Some(&key), Some(body)).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("bankId"));
    let body = json!({ "bank": "seb", "psuIpAddress": "1.2.3.4", "frequencyPerDay": 9 });
    let refused = call(&world, "POST", &connections, Some(&key), Some(body)).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("frequencyPerDay"));
}
on_both_stores!(refusals, the_api_refuses_missing_keys_and_bad_input);

/// A tenant adds, lists and deletes its own categorisation rules; another tenant neither sees nor deletes them;
/// an invalid rule and a malformed body are refused.
async fn the_api_manages_a_tenants_rules(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key_a) = world.engine.create_tenant("Fintech A").await.expect("tenant A");
    let (_, key_b) = world.engine.create_tenant("Fintech B").await.expect("tenant B");
    let rules = "/v1/categorisation-rules";
    let rule =
        json!({ "category": "treats", "flow": "spending", "priority": 10, "match": "keyword", "keyword": "Maxima" });
    let (status, created) = call(&world, "POST", rules, Some(&key_a), Some(rule.clone())).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("rule id").to_owned();

    let (status, listed) = call(&world, "GET", rules, Some(&key_a), None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["rules"], json!([{ "id": id, "rule": rule }]), "{listed}");
    let (_, other) = call(&world, "GET", rules, Some(&key_b), None).await;
    assert_eq!(other["rules"], json!([]));

    let one = format!("{rules}/{id}");
    let refused = call(&world, "DELETE", &one, Some(&key_b), None).await;
    assert_problem(&refused, 404, "https://consentry.dev/problems/not-found", None);
    let (status, _) = call(&world, "DELETE", &one, Some(&key_a), None).await;
    assert_eq!(status, 204);
    let (_, emptied) = call(&world, "GET", rules, Some(&key_a), None).await;
    assert_eq!(emptied["rules"], json!([]));
    let (status, gone) = call(&world, "DELETE", &one, Some(&key_a), None).await;
    assert_eq!(status, 404, "{gone}");

    let bad_regex = json!({ "category": "x", "flow": "spending", "match": "descriptionRegex", "pattern": "(" });
    let refused = call(&world, "POST", rules, Some(&key_a), Some(bad_regex)).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("rule.pattern"));
    let no_category = json!({ "flow": "spending", "match": "keyword", "keyword": "Rimi" });
    let refused = call(&world, "POST", rules, Some(&key_a), Some(no_category)).await;
    assert_problem(&refused, 400, MALFORMED_BODY, Some("category"));
    let refused = call(&world, "DELETE", &format!("{rules}/not-a-uuid"), Some(&key_a), None).await;
    assert_problem(&refused, 400, INVALID_FIELD, Some("ruleId"));
    let refused = call(&world, "GET", rules, None, None).await;
    assert_problem(&refused, 401, "https://consentry.dev/problems/unauthorized", None);
    let (_, none) = call(&world, "GET", rules, Some(&key_a), None).await;
    assert_eq!(none["rules"], json!([]), "nothing refused was stored");
}
on_both_stores!(rules, the_api_manages_a_tenants_rules);
