//! The API's one error format: RFC 9457 `application/problem+json`. Every error answer, from a route, an
//! extractor, the fallback for unknown routes or a limit of the server, carries a stable `type` URI (listed in
//! [`ProblemType`] and docs/api.md), a `title`, the `status`, a `detail` for a person, and the offending field,
//! parameter or header in `field` when there is one. Internal errors are logged and answered without their
//! text, so no error shows one tenant's data to another.

use std::collections::BTreeMap;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::ToSchema;

/// Where the problem types' URIs start; each type's page is a section of docs/api.md.
pub const PROBLEM_BASE: &str = "https://consentry.dev/problems/";

/// The media type of a problem answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every kind of error the API answers with; its `type` URI is [`PROBLEM_BASE`] followed by the slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemType {
    /// A field of the body, a path segment, a query parameter or a header has a wrong value (`field` names it).
    InvalidField,
    /// The body is not the JSON the route takes: not JSON, a wrong type, an unknown or missing field.
    MalformedBody,
    /// No API key, or one this engine never issued (or rotated away).
    Unauthorized,
    /// The resource does not exist for this tenant and user.
    NotFound,
    /// No route has this path.
    UnknownRoute,
    /// The path exists, not with this method.
    MethodNotAllowed,
    /// The request took longer than the server allows.
    RequestTimeout,
    /// The resource's state does not allow the request (a final consent, for one).
    Conflict,
    /// A request with this Idempotency-Key is still being answered.
    IdempotencyKeyInUse,
    /// The body is larger than the server takes.
    PayloadTooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// The Idempotency-Key was used with another request (another body or route).
    IdempotencyKeyReused,
    /// The API key made more requests than its rate allows; `Retry-After` says when to try again.
    RateLimited,
    /// Something failed inside Consentry; logged, not described.
    Internal,
    /// The bank did not answer, or refused.
    BankUnavailable,
    /// The resource was changed concurrently too many times in a row; nothing was stored: try again.
    Busy,
}

impl ProblemType {
    pub const ALL: [ProblemType; 16] = [
        ProblemType::InvalidField,
        ProblemType::MalformedBody,
        ProblemType::Unauthorized,
        ProblemType::NotFound,
        ProblemType::UnknownRoute,
        ProblemType::MethodNotAllowed,
        ProblemType::RequestTimeout,
        ProblemType::Conflict,
        ProblemType::IdempotencyKeyInUse,
        ProblemType::PayloadTooLarge,
        ProblemType::UnsupportedMediaType,
        ProblemType::IdempotencyKeyReused,
        ProblemType::RateLimited,
        ProblemType::Internal,
        ProblemType::BankUnavailable,
        ProblemType::Busy,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            ProblemType::InvalidField => "invalid-field",
            ProblemType::MalformedBody => "malformed-body",
            ProblemType::Unauthorized => "unauthorized",
            ProblemType::NotFound => "not-found",
            ProblemType::UnknownRoute => "unknown-route",
            ProblemType::MethodNotAllowed => "method-not-allowed",
            ProblemType::RequestTimeout => "request-timeout",
            ProblemType::Conflict => "conflict",
            ProblemType::IdempotencyKeyInUse => "idempotency-key-in-use",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::UnsupportedMediaType => "unsupported-media-type",
            ProblemType::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemType::RateLimited => "rate-limited",
            ProblemType::Internal => "internal",
            ProblemType::BankUnavailable => "bank-unavailable",
            ProblemType::Busy => "busy",
        }
    }

    pub fn uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }

    pub fn status(self) -> StatusCode {
        match self {
            ProblemType::InvalidField | ProblemType::MalformedBody => StatusCode::BAD_REQUEST,
            ProblemType::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemType::NotFound | ProblemType::UnknownRoute => StatusCode::NOT_FOUND,
            ProblemType::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemType::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ProblemType::Conflict | ProblemType::IdempotencyKeyInUse => StatusCode::CONFLICT,
            ProblemType::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemType::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemType::BankUnavailable => StatusCode::BAD_GATEWAY,
            ProblemType::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemType::InvalidField => "A value is invalid",
            ProblemType::MalformedBody => "The body is not what the route takes",
            ProblemType::Unauthorized => "A valid API key is required",
            ProblemType::NotFound => "Not found",
            ProblemType::UnknownRoute => "No such route",
            ProblemType::MethodNotAllowed => "Method not allowed on this route",
            ProblemType::RequestTimeout => "The request took too long",
            ProblemType::Conflict => "The resource's state does not allow this",
            ProblemType::IdempotencyKeyInUse => "A request with this Idempotency-Key is in progress",
            ProblemType::PayloadTooLarge => "The body is too large",
            ProblemType::UnsupportedMediaType => "The body must be JSON",
            ProblemType::IdempotencyKeyReused => "The Idempotency-Key was used for another request",
            ProblemType::RateLimited => "Too many requests",
            ProblemType::Internal => "Internal error",
            ProblemType::BankUnavailable => "The bank did not answer or refused",
            ProblemType::Busy => "Busy: try again",
        }
    }

    /// The type of a bare error status (one a layer produced without a body of ours).
    pub fn of_status(status: StatusCode) -> ProblemType {
        match status {
            StatusCode::UNAUTHORIZED => ProblemType::Unauthorized,
            StatusCode::NOT_FOUND => ProblemType::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ProblemType::RequestTimeout,
            StatusCode::CONFLICT => ProblemType::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemType::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ProblemType::MalformedBody,
            StatusCode::TOO_MANY_REQUESTS => ProblemType::RateLimited,
            StatusCode::BAD_GATEWAY => ProblemType::BankUnavailable,
            StatusCode::SERVICE_UNAVAILABLE => ProblemType::Busy,
            s if s.is_client_error() => ProblemType::MalformedBody,
            _ => ProblemType::Internal,
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, stable across versions (see docs/api.md).
    #[serde(rename = "type")]
    #[schema(example = "https://consentry.dev/problems/invalid-field")]
    pub problem_type: String,
    pub title: String,
    /// The HTTP status of the answer.
    pub status: u16,
    /// What went wrong with this request, for a person.
    pub detail: String,
    /// The body field (camelCase, dotted for nested ones), path segment, query parameter or header at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    kind: ProblemType,
    detail: String,
    field: Option<String>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn with_field(self, field: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..self
        }
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after_secs: Some(seconds),
            ..self
        }
    }

    pub fn kind(&self) -> ProblemType {
        self.kind
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: self.kind.uri(),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.kind.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.kind == ProblemType::Unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The error answers every route may give, for the OpenAPI document.
pub struct Problems;

/// The error answers of routes that take a body or act on a bank: every kind but the unknown route.
pub struct BodyProblems;

fn problem_responses(kinds: &[ProblemType]) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let mut statuses: BTreeMap<String, Vec<ProblemType>> = BTreeMap::new();
    for kind in kinds {
        statuses
            .entry(kind.status().as_u16().to_string())
            .or_default()
            .push(*kind);
    }
    statuses
        .into_iter()
        .map(|(status, kinds)| {
            let types: Vec<String> = kinds.iter().map(|k| k.slug().to_owned()).collect();
            let response = ResponseBuilder::new()
                .description(format!("A problem: {}", types.join(", ")))
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))))
                        .build(),
                )
                .build();
            (status, RefOr::T(response))
        })
        .collect()
}

impl utoipa::IntoResponses for Problems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        use ProblemType::*;
        problem_responses(&[
            InvalidField,
            Unauthorized,
            NotFound,
            MethodNotAllowed,
            RequestTimeout,
            RateLimited,
            Internal,
            Busy,
        ])
    }
}

impl utoipa::IntoResponses for BodyProblems {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let kinds: Vec<ProblemType> = ProblemType::ALL
            .into_iter()
            .filter(|k| *k != ProblemType::UnknownRoute)
            .collect();
        problem_responses(&kinds)
    }
}
