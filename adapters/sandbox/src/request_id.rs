//! `X-Request-ID` on the `/v1` endpoints. The spec requires it (a UUID) on every request and on every answer,
//! errors included: [`echo`] copies the caller's id onto whatever answer leaves the bank, the fault layer's
//! included, and gives an answer to a request without a usable id a fresh one; [`require`] refuses such a
//! request with FORMAT_ERROR.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{header, TppError};

const X_REQUEST_ID: &str = "x-request-id";

/// The request's id, as sent, when it is a UUID.
fn request_id(request: &Request) -> Option<HeaderValue> {
    let id = header(request.headers(), X_REQUEST_ID)?;
    uuid::Uuid::parse_str(id).ok()?;
    HeaderValue::from_str(id).ok()
}

pub(crate) async fn echo(request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let mut response = next.run(request).await;
    let id = id.or_else(|| HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).ok());
    if let Some(id) = id {
        response.headers_mut().insert(X_REQUEST_ID, id);
    }
    response
}

pub(crate) async fn require(request: Request, next: Next) -> Response {
    if request_id(&request).is_some() {
        return next.run(request).await;
    }
    let why = if header(request.headers(), X_REQUEST_ID).is_some() {
        "X-Request-ID is not a UUID"
    } else {
        "X-Request-ID header is missing"
    };
    TppError::format(why).into_response()
}
