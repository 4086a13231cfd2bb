//! The `Idempotency-Key` header on the routes that create something (Stripe's and TrueLayer's semantics): the
//! same key with the same request (method, path and JSON body, whatever its key order) answers what the first
//! request answered, status and body, marked `Idempotent-Replayed: true`; with another request it is refused
//! (422 naming the key). A second request arriving while the first runs waits for its answer, for at most
//! [`WAIT_FOR_FIRST`], then gets 409. Requests refused before anything was done (400, 401, 408, 413, 415, 422,
//! 429) and internal failures (500, 503) keep no answer: the key can be sent again. A route opts in with
//! [`idempotent`]; requests without the header run as they are.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Extension, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa_axum::router::UtoipaMethodRouter;

use super::api::{ApiError, ProblemType, Tenant};
use super::AppState;
use crate::idempotency::{Claim, StoredAnswer};

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// How long a request waits for another one running with its key before it is answered 409.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(10);
const POLL_EVERY: Duration = Duration::from_millis(25);

/// Makes `route` honour the Idempotency-Key header.
pub(crate) fn idempotent(route: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    let (schemas, paths, method_router) = route;
    (
        schemas,
        paths,
        method_router.layer(axum::middleware::from_fn(replay_or_run)),
    )
}

/// What identifies a request: its method, path and query, and its body (JSON compared by value).
fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| serde_json::to_vec(&value).ok())
        .unwrap_or_else(|| body.to_vec());
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(path.as_bytes());
    hash.update([0]);
    hash.update(&canonical);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether an answer is kept for the key: not when the request was refused before anything was done, nor when
/// it failed inside Consentry.
fn keeps_answer(status: StatusCode) -> bool {
    !matches!(status.as_u16(), 400 | 401 | 408 | 413 | 415 | 422 | 429 | 500 | 503)
}

fn replayed(answer: StoredAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    if let Some(content_type) = answer.content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

async fn replay_or_run(Extension(app): Extension<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(request).await;
    };
    let key = match key.to_str().map(str::trim) {
        Ok(key) if !key.is_empty() && key.len() <= 255 => key.to_owned(),
        _ => {
            return ApiError::new(ProblemType::InvalidField, "must be 1 to 255 visible ASCII characters")
                .with_field("Idempotency-Key")
                .into_response()
        }
    };
    let (mut parts, body) = request.into_parts();
    let tenant = match Tenant::resolve(&mut parts, &app).await {
        Ok(tenant) => tenant,
        Err(refused) => return refused.into_response(),
    };
    let body = match to_bytes(body, app.body_limit).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(
                ProblemType::PayloadTooLarge,
                format!("the body is larger than {} bytes", app.body_limit),
            )
            .into_response()
        }
    };
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let request_sha256 = fingerprint(parts.method.as_str(), path, &body);
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    let claim = loop {
        let found = app.engine.claim_idempotency_key(tenant.0, &key, &request_sha256).await;
        match found {
            Err(error) => return ApiError::from(error).into_response(),
            Ok(Claim::Claimed(claim)) => break claim,
            Ok(Claim::Answered(answer)) => return replayed(answer),
            Ok(Claim::Reused) => {
                return ApiError::new(
                    ProblemType::IdempotencyKeyReused,
                    format!("Idempotency-Key {key:?} was used with another request; use a new key for this one"),
                )
                .with_field("Idempotency-Key")
                .into_response()
            }
            Ok(Claim::InProgress) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(POLL_EVERY).await;
            }
            Ok(Claim::InProgress) => {
                return ApiError::new(
                    ProblemType::IdempotencyKeyInUse,
                    format!("a request with Idempotency-Key {key:?} is still running; try again later"),
                )
                .with_field("Idempotency-Key")
                .into_response()
            }
        }
    };
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "an answer could not be read for its Idempotency-Key");
            if let Err(error) = app.engine.release_idempotency_key(&claim).await {
                tracing::error!(%error, "an Idempotency-Key could not be released");
            }
            return ApiError::new(ProblemType::Internal, "the answer could not be completed").into_response();
        }
    };
    let stored = if keeps_answer(parts.status) {
        let answer = StoredAnswer {
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .map(str::to_owned),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        app.engine.complete_idempotency_key(&claim, &answer).await
    } else {
        app.engine.release_idempotency_key(&claim).await
    };
    if let Err(error) = stored {
        tracing::error!(%error, "an Idempotency-Key's answer could not be stored");
    }
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_same_json_in_another_order_is_the_same_request() {
        let a = fingerprint("POST", "/v1/x", br#"{"a":1,"b":"two"}"#);
        assert_eq!(a, fingerprint("POST", "/v1/x", br#"{ "b": "two", "a": 1 }"#));
        assert_ne!(a, fingerprint("POST", "/v1/x", br#"{"a":2,"b":"two"}"#));
        assert_ne!(a, fingerprint("POST", "/v1/y", br#"{"a":1,"b":"two"}"#));
    }
}
