//! What every route of the API shares: the tenant behind the bearer key, errors as JSON with the fitting
//! status, query parameters and bodies that name what is wrong with them, the user in the path, whether the user
//! is present, and reading one's own writes.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use consentry_domain::bank::PsuContext;
use consentry_domain::{FieldError, TenantId, UserId};
use consentry_projections::Projection;
use serde::Serialize;

use super::AppState;
use crate::EngineError;

/// An API error: `{"error": "...", "field": "..."}` with the fitting status.
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: error.into(),
                field: None,
            },
        }
    }

    fn of_field(error: impl Into<String>, field: String) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: error.into(),
                field: Some(field),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        use consentry_domain::consent::ConsentError;
        use consentry_domain::payment::PaymentError;
        // Bad input found by an aggregate is bad input all the same.
        let invalid_field = match &error {
            EngineError::InvalidInput(e)
            | EngineError::Consent {
                source: ConsentError::InvalidField(e),
                ..
            }
            | EngineError::Payment {
                source: PaymentError::InvalidField(e),
                ..
            } => Some(e.field.clone()),
            _ => None,
        };
        if let Some(field) = invalid_field {
            return ApiError::of_field(error.to_string(), field);
        }
        let status = match &error {
            EngineError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            EngineError::Consent { .. } | EngineError::Payment { .. } | EngineError::AccountData { .. } => {
                StatusCode::CONFLICT
            }
            EngineError::NotFound { .. } => StatusCode::NOT_FOUND,
            EngineError::Bank { .. } => StatusCode::BAD_GATEWAY,
            EngineError::CallbackRefused(_) => StatusCode::BAD_REQUEST,
            EngineError::Conflict { .. } => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        let field = error.field.clone();
        ApiError::of_field(error.to_string(), field)
    }
}

/// The tenant an `Authorization: Bearer` key belongs to.
pub(crate) struct Tenant(pub(crate) TenantId);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorised = || ApiError::new(StatusCode::UNAUTHORIZED, "a valid API key is required");
        let key = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 256)
            .ok_or_else(unauthorised)?;
        match state.engine.tenant_for_key(key).await? {
            Some(tenant) => Ok(Tenant(tenant)),
            None => Err(unauthorised()),
        }
    }
}

/// Query parameters, or a 400 in the API's JSON shape saying which parameter is wrong and how.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(parameters)| Params(parameters))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
    }
}

/// A JSON body, or a 400 saying what is wrong with it (serde names the field and where).
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// The user a path names.
pub(crate) fn user(raw: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(raw)?)
}

/// `PSU-IP-Address` on a request means the user is present (the call is not counted against frequencyPerDay).
pub(crate) fn psu(headers: &HeaderMap) -> PsuContext {
    match headers.get("psu-ip-address").and_then(|v| v.to_str().ok()) {
        Some(ip) if !ip.trim().is_empty() => PsuContext::present(ip.trim()),
        _ => PsuContext::absent(),
    }
}

/// A page for a person's browser (the SCA callback's answer).
pub(crate) fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

/// Applies what the log holds beyond `projection`'s checkpoint, so an answer includes the caller's own writes
/// (a consent just connected, a payment just sent) before the live runner gets to them; unless a transaction
/// older than them is still open, which holds the feed back for that moment.
pub(crate) async fn read_your_writes(app: &AppState, projection: Projection) -> Result<(), ApiError> {
    let runner = app.engine.projection_runner().with_projections(vec![projection]);
    runner.catch_up().await.map_err(EngineError::from)?;
    Ok(())
}
