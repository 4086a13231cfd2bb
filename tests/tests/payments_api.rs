//! Payments over the API, on both stores, every answer checked against the OpenAPI document: a payment made with
//! `POST /v1/users/{user}/payments` reaches its final status through the scheduler alone, its detail says what it
//! waits for and when it is read next; a retry with the same Idempotency-Key initiates nothing twice; a redirect
//! SCA returns through the shared callback, whose `state` is bound to the payment and whose status is read back
//! from the bank; cancelling a final payment is a clear refusal, and another user's payment does not exist.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::scheduler::SchedulerConfig;
use consentry_domain::{Clock, PaymentId, UserId};
use consentry_projections::read_models::due_work::WorkKind;
use consentry_sandbox::SandboxConfig;
use consentry_tests::{on_both_stores, settle, Backend, World};
use serde_json::{json, Value};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

fn order() -> Value {
    json!({
        "bank": "swedbank",
        "debtorIban": "LT121000011101001000",
        "creditorIban": "LT737300010000000003",
        "creditorName": "Ignitis UAB",
        "amount": "42.50",
        "remittanceInformation": "Invoice 2026-05",
        "psuIpAddress": "192.0.2.10"
    })
}

/// Runs the scheduler's status polls until none is due, moving the clock to each one.
async fn poll_until_settled(world: &World, payment: &str) {
    let config = SchedulerConfig {
        owner: "test".into(),
        ..SchedulerConfig::default()
    };
    for _ in 0..20 {
        settle(&world.engine).await;
        let Some(due) = world.engine.due_at(WorkKind::PaymentPoll, payment).await.expect("due") else {
            return;
        };
        world.clock.set(due.max(world.clock.now()));
        world
            .engine
            .run_due_work(&[WorkKind::PaymentPoll], &config)
            .await
            .expect("a pass");
    }
    panic!("the payment was still polled after 20 passes");
}

async fn a_payment_made_over_the_api_settles_on_its_own(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/payments");

    let (status, paid) = world.call("POST", &path, Some(&key), Some(order())).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["phase"], "submitted", "{paid}");
    let id = paid["paymentId"].as_str().expect("paymentId").to_owned();
    let one = format!("{path}/{id}");

    let (status, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["waitingFor"], "bankStatus", "{detail}");
    assert_eq!(detail["attempts"], 1, "{detail}");
    let next: DateTime<Utc> = serde_json::from_value(detail["nextStatusPoll"].clone()).expect("a time");
    assert_eq!(
        next - world.clock.now(),
        Duration::seconds(5),
        "the first poll 5 s after submission"
    );

    poll_until_settled(&world, &id).await;
    let (_, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(detail["status"], "ACSC", "{detail}");
    assert_eq!(detail["waitingFor"], "nothing", "{detail}");
    assert_eq!(detail["nextStatusPoll"], Value::Null, "{detail}");
    let reached: Vec<&str> = detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|change| change["status"].as_str())
        .collect();
    assert_eq!(reached.last(), Some(&"ACSC"), "{detail}");

    // Cancelling a final payment is refused clearly; another user's payment does not exist.
    let (status, refused) = world.call("DELETE", &one, Some(&key), None).await;
    assert_eq!(status, 409, "{refused}");
    let stranger = format!("/v1/users/{}/payments/{id}", UserId::new());
    let (status, _) = world.call("GET", &stranger, Some(&key), None).await;
    assert_eq!(status, 404);
}
on_both_stores!(settles, a_payment_made_over_the_api_settles_on_its_own);

async fn a_retried_payment_request_initiates_nothing_twice(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/payments");
    let send = || {
        world
            .request("POST", &path, Some(&key), Some(&order()))
            .header("Idempotency-Key", "pay-invoice-2026-05")
    };
    let first = world.send("POST", &path, send()).await;
    let again = world.send("POST", &path, send()).await;
    assert_eq!((first.status, again.status), (201, 201));
    assert_eq!(first.body["paymentId"], again.body["paymentId"]);
    let counters = world.counters("swedbank").await;
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("per end-to-end id");
    assert_eq!(initiations.len(), 1, "{counters}");
    let (_, listed) = world.call("GET", &path, Some(&key), None).await;
    assert_eq!(listed["payments"].as_array().map(Vec::len), Some(1), "{listed}");
}
on_both_stores!(idempotent, a_retried_payment_request_initiates_nothing_twice);

async fn a_redirect_sca_returns_through_the_callback_bound_to_the_payment(store: Backend) {
    let world = World::start(
        store,
        start(),
        SandboxConfig {
            auto_approve: false,
            ..SandboxConfig::default()
        },
    )
    .await;
    let (_, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/payments");
    let mut body = order();
    body["approach"] = json!("REDIRECT");
    let (status, paid) = world.call("POST", &path, Some(&key), Some(body)).await;
    assert_eq!(status, 201, "{paid}");
    let id = paid["paymentId"].as_str().expect("paymentId").to_owned();
    let sca_page = paid["scaRedirect"].as_str().expect("a redirect link").to_owned();
    let (_, detail) = world.call("GET", &format!("{path}/{id}"), Some(&key), None).await;
    assert_eq!(detail["waitingFor"], "authorisation", "{detail}");
    assert_eq!(detail["scaRedirect"], sca_page.as_str(), "{detail}");

    // The user approves; the bank sends the browser to Consentry's callback, which reads the status back.
    let page = world.decide_on_page(&sca_page, "approve").await;
    assert!(
        page.url().as_str().starts_with(&world.server.callback_url()),
        "{}",
        page.url()
    );
    assert_eq!(page.status(), 200);
    let callback = page.url().clone();
    let text = page.text().await.expect("page");
    assert!(text.contains("The bank reports this payment"), "{text}");
    // From here the scheduler follows the status to settlement, with no call from the host.
    poll_until_settled(&world, &id).await;
    let state = world
        .engine
        .payment(PaymentId::parse(&id).expect("a payment id"))
        .await
        .expect("payment")
        .state
        .expect("state");
    assert_eq!(state.status.map(|s| s.code()), Some("ACSC"));

    // The same state again is refused: it was single-use.
    let replayed = reqwest::get(callback).await.expect("replay");
    assert_eq!(replayed.status(), 400);
}
on_both_stores!(
    redirect_sca,
    a_redirect_sca_returns_through_the_callback_bound_to_the_payment
);

async fn the_host_resolves_a_payment_whose_outcome_is_unknown(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (_, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/payments");
    let dropping = consentry_sandbox::Faults {
        drop_after_processing_rate: 1.0,
        ..consentry_sandbox::Faults::default()
    };
    world.set_faults("swedbank", &dropping).await;
    let (status, paid) = world.call("POST", &path, Some(&key), Some(order())).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["phase"], "outcomeUnknown", "{paid}");
    world
        .set_faults("swedbank", &consentry_sandbox::Faults::default())
        .await;
    let id = paid["paymentId"].as_str().expect("paymentId").to_owned();
    let one = format!("{path}/{id}");
    let (_, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(detail["waitingFor"], "reconciliation", "{detail}");

    // Bad decisions are refused by field, and change nothing.
    let resolution = format!("{one}/resolution");
    for (body, field) in [
        (json!({ "outcome": "sent" }), "bankPaymentId"),
        (json!({ "outcome": "maybe" }), "outcome"),
        (json!({ "outcome": "notSent" }), "psuIpAddress"),
    ] {
        let (status, problem) = world.call("POST", &resolution, Some(&key), Some(body)).await;
        assert_eq!((status, problem["field"].as_str()), (400, Some(field)), "{problem}");
    }
    let state = world
        .engine
        .payment(PaymentId::parse(&id).expect("id"))
        .await
        .expect("payment")
        .state
        .expect("state");
    assert_eq!(state.attempts, 1);

    // Not sent, says the host: sent again, with the same end-to-end id.
    let body = json!({ "outcome": "notSent", "psuIpAddress": "192.0.2.10" });
    let (status, resolved) = world.call("POST", &resolution, Some(&key), Some(body)).await;
    assert_eq!(status, 200, "{resolved}");
    let (_, detail) = world.call("GET", &one, Some(&key), None).await;
    assert_eq!(
        (detail["phase"].as_str(), detail["attempts"].as_i64()),
        (Some("submitted"), Some(2)),
        "{detail}"
    );
    let counters = world.counters("swedbank").await;
    let initiations = counters["paymentsByEndToEndId"].as_object().expect("per end-to-end id");
    assert_eq!(initiations.len(), 1, "the same end-to-end id both times: {counters}");
}
on_both_stores!(host_resolution, the_host_resolves_a_payment_whose_outcome_is_unknown);

async fn a_decoupled_payment_settles_with_no_call_from_the_host(store: Backend) {
    let world = World::start(
        store,
        start(),
        SandboxConfig {
            auto_approve: false,
            ..SandboxConfig::default()
        },
    )
    .await;
    let (_, key) = world.engine.create_tenant("Fintech").await.expect("tenant");
    let user = UserId::new();
    let path = format!("/v1/users/{user}/payments");
    let mut body = order();
    body["approach"] = json!("DECOUPLED");
    let (status, paid) = world.call("POST", &path, Some(&key), Some(body)).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(
        (paid["approach"].as_str(), &paid["scaRedirect"]),
        (Some("DECOUPLED"), &Value::Null),
        "{paid}"
    );
    let id = paid["paymentId"].as_str().expect("paymentId").to_owned();
    let (_, detail) = world.call("GET", &format!("{path}/{id}"), Some(&key), None).await;
    assert_eq!(
        detail["waitingFor"], "authorisation",
        "the user approves in the bank's app: {detail}"
    );

    // The user approves in the bank's app; the scheduler follows the authorisation's scaStatus (not a blocking
    // loop), then the status polls see the payment move on to settlement.
    let config = SchedulerConfig {
        owner: "test".into(),
        ..SchedulerConfig::default()
    };
    let mut reads = 0;
    loop {
        settle(&world.engine).await;
        let Some(due) = world
            .engine
            .due_at(WorkKind::PaymentAuthorisation, &id)
            .await
            .expect("due")
        else {
            break;
        };
        world.clock.set(due.max(world.clock.now()));
        world
            .engine
            .run_due_work(&[WorkKind::PaymentAuthorisation], &config)
            .await
            .expect("a pass");
        reads += 1;
        assert!(reads < 100, "the authorisation ends");
    }
    let history = world
        .engine
        .payment_history(PaymentId::parse(&id).expect("id"))
        .await
        .expect("history");
    let seen: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.event {
            consentry_domain::payment::PaymentEvent::PaymentScaStatusObserved { sca_status } => {
                Some(sca_status.as_str().to_owned())
            }
            _ => None,
        })
        .collect();
    assert_eq!(seen.last().map(String::as_str), Some("finalised"), "{seen:?}");
    poll_until_settled(&world, &id).await;
    let (_, detail) = world.call("GET", &format!("{path}/{id}"), Some(&key), None).await;
    assert_eq!(detail["status"], "ACSC", "{detail}");
    let reached: Vec<&str> = detail["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|change| change["status"].as_str())
        .collect();
    assert_eq!(reached.first(), Some(&"RCVD"), "{detail}");
}
on_both_stores!(decoupled, a_decoupled_payment_settles_with_no_call_from_the_host);
