//! Fault injection for the sandbox's `/v1` endpoints, and the admin endpoints tests drive it with:
//! `GET/PUT /{bank}/admin/faults`, `GET /{bank}/admin/counters`, `GET/PUT /{bank}/admin/auto-approve` (a JSON
//! boolean) and `POST /{bank}/admin/consents/{id}/revoke` (the user revoking a consent at the bank). The same
//! layer renders errors as problem+json for the banks set up so, and logs every read of a payment's status
//! before any fault is drawn, so a poll answered with an injected 429 or 500 is in the log too.
//!
//! The counters, as JSON:
//!
//! ```json
//! {
//!   "accesses": [{ "consentId": "…", "resource": "accounts/{id}/transactions", "day": "2026-05-04",
//!                  "requests": 3, "unattended": 2 }],
//!   "paymentsByRequestId": { "<X-Request-ID>": 1 },
//!   "paymentsByEndToEndId": { "<endToEndIdentification>": 1 },
//!   "statusPolls": { "<paymentId>": ["2026-05-04T09:00:05.000Z", "2026-05-04T09:00:10.000Z"] },
//!   "malformedEntries": [{ "resource": "accounts", "list": "accounts", "index": 2, "entry": "…",
//!                          "field": "iban", "fault": "ibanChecksum" }]
//! }
//! ```
//!
//! `paymentsByRequestId` and `paymentsByEndToEndId` count the payments created (a payment initiated twice
//! shows 2); `statusPolls` lists, per payment, the time of every `GET` of the payment or of its status, in
//! the order received, on the sandbox's clock (RFC 3339, milliseconds, UTC).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::SecondsFormat;
use consentry_domain::consent::ConsentStatus;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{SandboxState, TppError};

/// Rates are probabilities per request (0.0 never, 1.0 always), drawn from a per-bank seeded generator so a
/// run is reproducible.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every request.
    pub latency_ms: u64,
    /// 500 (without a body, as the spec has it).
    pub error_rate: f64,
    /// 429 ACCESS_EXCEEDED (with `Retry-After` when `retry_after_secs` is set).
    pub too_many_requests_rate: f64,
    pub retry_after_secs: Option<u64>,
    /// The answer is held back for `timeout_ms` (the request is still processed, as at a slow bank).
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// The body is cut in the middle of the JSON.
    pub malformed_rate: f64,
    /// The body is larger than any client should read (5 MiB).
    pub oversized_rate: f64,
    /// The request is processed, then the connection drops before the body is sent.
    pub drop_after_processing_rate: f64,
    /// The share of entries in account, balance and transaction lists served broken (see `malformed`): per
    /// entry rather than per request, so the same entries break on every read; the rest stay good.
    pub malformed_entry_rate: f64,
}

/// What the dice decided for one request.
struct Draw {
    latency: Duration,
    error: bool,
    too_many: Option<Option<u64>>,
    hold: Option<Duration>,
    malformed: bool,
    oversized: bool,
    drop: bool,
    problem_json: bool,
}

const OVERSIZED_BYTES: usize = 5 * 1024 * 1024;

/// The payment a request reads the status of (`GET .../{service}/{product}/{paymentId}[/status]`), if it does.
fn polled_payment<'a>(method: &Method, segments: &[&'a str]) -> Option<&'a str> {
    if method != Method::GET {
        return None;
    }
    match segments {
        [_, "v1", service, _, payment_id] | [_, "v1", service, _, payment_id, "status"]
            if ["payments", "bulk-payments", "periodic-payments"].contains(service) =>
        {
            Some(payment_id)
        }
        _ => None,
    }
}

/// Logs a read of `polled`'s status, then draws the request's faults.
fn draw(state: &SandboxState, bank: &str, polled: Option<&str>) -> Option<Draw> {
    let problem_json = state.config().problem_json_banks.iter().any(|b| b == bank);
    state
        .with_bank(bank, |bank_state, state| {
            if let Some(payment) = polled.and_then(|id| bank_state.payments.get_mut(id)) {
                payment.polls.push(state.now());
            }
            let f = bank_state.faults.clone();
            let rng = &mut bank_state.fault_rng;
            let mut roll = |rate: f64| rate > 0.0 && rng.unit() < rate;
            Ok(Draw {
                latency: Duration::from_millis(f.latency_ms),
                error: roll(f.error_rate),
                too_many: roll(f.too_many_requests_rate).then_some(f.retry_after_secs),
                hold: roll(f.timeout_rate).then_some(Duration::from_millis(f.timeout_ms.max(1))),
                malformed: roll(f.malformed_rate),
                oversized: roll(f.oversized_rate),
                drop: roll(f.drop_after_processing_rate),
                problem_json,
            })
        })
        .ok()
}

pub(crate) async fn inject(State(state): State<Arc<SandboxState>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let bank = segments.first().copied().unwrap_or_default();
    let Some(draw) = draw(&state, bank, polled_payment(request.method(), &segments)) else {
        return next.run(request).await;
    };
    if !draw.latency.is_zero() {
        tokio::time::sleep(draw.latency).await;
    }
    if let Some(retry_after) = draw.too_many {
        let mut response = TppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "ACCESS_EXCEEDED",
            "injected: too many requests",
        )
        .into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        return as_problem_json(response, draw.problem_json).await;
    }
    if draw.error {
        // The spec gives a 500 no body.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let response = next.run(request).await;
    if let Some(hold) = draw.hold {
        tokio::time::sleep(hold).await;
    }
    let (mut parts, body) = response.into_parts();
    if draw.drop {
        parts.headers.remove(header::CONTENT_LENGTH);
        let failing = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected drop",
            ))
        });
        return Response::from_parts(parts, Body::from_stream(failing));
    }
    if draw.oversized {
        parts.headers.remove(header::CONTENT_LENGTH);
        let mut big = Vec::with_capacity(OVERSIZED_BYTES + 2);
        big.push(b'[');
        big.resize(OVERSIZED_BYTES, b' ');
        big.push(b']');
        return Response::from_parts(parts, Body::from(big));
    }
    if draw.malformed {
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Response::from_parts(parts, Body::from("{\"consentStatus\": \"val"));
    }
    as_problem_json(Response::from_parts(parts, body), draw.problem_json).await
}

/// Rewrites a `tppMessages` error as RFC 7807 problem+json with the Berlin Group `code`.
async fn as_problem_json(response: Response, problem_json: bool) -> Response {
    if !problem_json || response.status().is_success() {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["tppMessages"].get(0).cloned());
    let Some(message) = message else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let code = message["code"].as_str().unwrap_or("INTERNAL_SERVER_ERROR");
    let problem = json!({
        "type": format!("https://berlin-group.org/problem/{code}"),
        "title": code,
        "detail": message["text"],
        "code": code,
        "status": parts.status.as_u16(),
    });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Response::from_parts(parts, Body::from(problem.to_string()))
}

pub(crate) async fn get_faults(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
) -> Result<Json<Faults>, TppError> {
    state.with_bank(&bank, |bank_state, _| Ok(Json(bank_state.faults.clone())))
}

pub(crate) async fn put_faults(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
    body: Bytes,
) -> Result<Json<Faults>, TppError> {
    let faults: Faults = serde_json::from_slice(&body).map_err(|e| TppError::format(format!("faults: {e}")))?;
    let rates = [
        faults.error_rate,
        faults.too_many_requests_rate,
        faults.timeout_rate,
        faults.malformed_rate,
        faults.oversized_rate,
        faults.drop_after_processing_rate,
        faults.malformed_entry_rate,
    ];
    if rates.iter().any(|r| !(0.0..=1.0).contains(r)) {
        return Err(TppError::format("rates are between 0 and 1"));
    }
    state.with_bank(&bank, |bank_state, _| {
        tracing::info!(%bank, ?faults, "sandbox faults set");
        bank_state.faults = faults.clone();
        Ok(Json(faults))
    })
}

pub(crate) async fn counters(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
) -> Result<Json<Value>, TppError> {
    state.with_bank(&bank, |bank_state, _| {
        let accesses: Vec<Value> = bank_state
            .accesses
            .iter()
            .map(|((consent_id, resource, day), count)| {
                json!({
                    "consentId": consent_id,
                    "resource": resource,
                    "day": day.to_string(),
                    "requests": count.requests,
                    "unattended": count.unattended,
                })
            })
            .collect();
        let by_request: serde_json::Map<String, Value> = bank_state
            .payments_by_request_id
            .iter()
            .map(|(id, (n, _))| (id.clone(), json!(n)))
            .collect();
        let polls: BTreeMap<&str, Vec<String>> = bank_state
            .payments
            .iter()
            .filter(|(_, p)| !p.polls.is_empty())
            .map(|(id, p)| {
                let times = p
                    .polls
                    .iter()
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
                    .collect();
                (id.as_str(), times)
            })
            .collect();
        Ok(Json(json!({
            "accesses": accesses,
            "paymentsByRequestId": by_request,
            "paymentsByEndToEndId": bank_state.payments_by_end_to_end_id,
            "statusPolls": polls,
            "malformedEntries": bank_state.malformed_entries,
        })))
    })
}

pub(crate) async fn revoke_by_psu(
    State(state): State<Arc<SandboxState>>,
    Path((bank, consent_id)): Path<(String, String)>,
) -> Result<StatusCode, TppError> {
    state.with_bank(&bank, |bank_state, _| {
        let consent = bank_state
            .consents
            .get_mut(&consent_id)
            .ok_or_else(|| TppError::new(StatusCode::FORBIDDEN, "CONSENT_UNKNOWN", "no such consent"))?;
        if !consent.status.is_final() {
            consent.status = ConsentStatus::RevokedByPsu;
        }
        Ok(StatusCode::NO_CONTENT)
    })
}

pub(crate) async fn get_auto_approve(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
) -> Result<Json<bool>, TppError> {
    state.with_bank(&bank, |bank_state, _| Ok(Json(bank_state.auto_approve)))
}

pub(crate) async fn put_auto_approve(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
    body: Bytes,
) -> Result<Json<bool>, TppError> {
    let on: bool = serde_json::from_slice(&body).map_err(|_| TppError::format("send true or false"))?;
    state.with_bank(&bank, |bank_state, _| {
        bank_state.auto_approve = on;
        Ok(Json(on))
    })
}
