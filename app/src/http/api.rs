//! What every route of the API shares: the tenant behind the bearer key (rate-limited per tenant), errors as
//! problem documents, query parameters and bodies that name what is wrong with them, the ids in the path,
//! whether the user is present, and reading one's own writes.

use std::net::IpAddr;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use consentry_domain::bank::PsuContext;
use consentry_domain::{ConsentId, FieldError, TenantId, UserId};
use consentry_projections::Projection;

pub(crate) use super::problem::{ApiError, BodyProblems, ProblemType, Problems};
use super::AppState;
use crate::EngineError;

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
            return ApiError::new(ProblemType::InvalidField, error.to_string()).with_field(field);
        }
        let kind = match &error {
            EngineError::InvalidInput(_) => ProblemType::InvalidField,
            EngineError::Consent { .. } | EngineError::Payment { .. } | EngineError::AccountData { .. } => {
                ProblemType::Conflict
            }
            EngineError::NotFound { .. } => ProblemType::NotFound,
            // The bank's clear refusal of a cancellation (405 CANCELLATION_INVALID) is about the payment's state.
            EngineError::Bank {
                source: consentry_domain::bank::BankError::CancellationInvalid(_),
                ..
            } => ProblemType::Conflict,
            EngineError::Bank { .. } => ProblemType::BankUnavailable,
            EngineError::CallbackRefused(_) => {
                return ApiError::new(ProblemType::InvalidField, error.to_string()).with_field("state")
            }
            EngineError::Conflict { .. } => ProblemType::Busy,
            EngineError::Store(_) => {
                // The store's text may name rows of any tenant: it goes to the log, never to the caller.
                tracing::error!(%error, "a request failed in the store");
                return ApiError::new(ProblemType::Internal, "an internal error occurred; it has been logged");
            }
        };
        ApiError::new(kind, error.to_string())
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        let field = error.field.clone();
        ApiError::new(ProblemType::InvalidField, error.to_string()).with_field(field)
    }
}

/// The field a serde message names: a missing or unknown field, else the path serde_path_to_error puts first.
fn field_in(message: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    let (path, _) = message.split_once(": ")?;
    (!path.is_empty() && !path.contains(' ')).then(|| path.to_owned())
}

/// The tenant an `Authorization: Bearer` key belongs to (the scheme's name in any case, as RFC 7235 says).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tenant(pub(crate) TenantId);

impl Tenant {
    /// The key's tenant, counted against its rate; resolved once per request (the idempotency layer may have
    /// done it before the route).
    pub(crate) async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Tenant, ApiError> {
        if let Some(tenant) = parts.extensions.get::<Tenant>() {
            return Ok(*tenant);
        }
        let unauthorised = || ApiError::new(ProblemType::Unauthorized, "a valid API key is required");
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|k| !k.is_empty() && k.len() <= 256)
            .ok_or_else(unauthorised)?;
        let tenant = match state.engine.tenant_for_key(key).await? {
            Some(tenant) => Tenant(tenant),
            None => return Err(unauthorised()),
        };
        if let Err(wait) = state.rate_limits.take(tenant.0) {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(ApiError::new(
                ProblemType::RateLimited,
                format!("this API key's rate is spent; try again in {seconds} s"),
            )
            .retry_after(seconds.max(1)));
        }
        parts.extensions.insert(tenant);
        Ok(tenant)
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Tenant::resolve(parts, state).await
    }
}

/// Query parameters, or a 400 problem naming the parameter that is wrong and how.
pub(crate) struct Params<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(parameters)| Params(parameters))
            .map_err(|e: QueryRejection| {
                let text = e.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let error = ApiError::new(ProblemType::InvalidField, text.clone());
                match field_in(message) {
                    Some(field) => error.with_field(field),
                    None => error,
                }
            })
    }
}

/// A JSON body, or a problem saying what is wrong with it (the field named where serde names it).
pub(crate) fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body).map_err(|e| {
        let text = e.body_text();
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ProblemType::PayloadTooLarge, text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(ProblemType::UnsupportedMediaType, text),
            _ => {
                let message = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text);
                let error = ApiError::new(ProblemType::MalformedBody, text.clone());
                match field_in(message) {
                    Some(field) => error.with_field(field),
                    None => error,
                }
            }
        }
    })
}

/// The user a path names.
pub(crate) fn user(raw: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(raw)?)
}

/// The consent a path names.
pub(crate) fn consent_id(raw: &str) -> Result<ConsentId, ApiError> {
    ConsentId::parse(raw).map_err(|_| FieldError::new("consentId", format!("{raw:?} is not a UUID")).into())
}

/// A user's device address, as PSD2 wants it sent to the bank: an IP address, nothing else (no header can be
/// smuggled through it).
pub(crate) fn ip_address(field: &str, raw: &str) -> Result<IpAddr, ApiError> {
    raw.parse::<IpAddr>()
        .map_err(|_| FieldError::new(field, format!("{raw:?} is not an IP address")).into())
}

/// `PSU-IP-Address` on a request means the user is present (the call is not counted against frequencyPerDay).
pub(crate) fn psu(headers: &HeaderMap) -> Result<PsuContext, ApiError> {
    match headers.get("psu-ip-address") {
        None => Ok(PsuContext::absent()),
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| FieldError::new("PSU-IP-Address", "is not an IP address"))?;
            Ok(PsuContext::present(ip_address("PSU-IP-Address", text)?.to_string()))
        }
    }
}

/// A page for a person's browser (the SCA callback's answer): never framed, cached or followed by a referrer,
/// and running no script.
pub(crate) fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Applies what the log holds beyond `projection`'s checkpoint, so an answer includes the caller's own writes
/// (a consent just connected, a payment just sent) before the live runner gets to them; unless a transaction
/// older than them is still open, which holds the feed back for that moment.
pub(crate) async fn read_your_writes(app: &AppState, projection: Projection) -> Result<(), ApiError> {
    let runner = app.engine.projection_runner().with_projections(vec![projection]);
    runner.catch_up().await.map_err(EngineError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::field_in;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_in("missing field `bank` at line 1 column 2").as_deref(),
            Some("bank")
        );
        assert_eq!(
            field_in("unknown field `colour`, expected one of `bank`").as_deref(),
            Some("colour")
        );
        assert_eq!(
            field_in("frequencyPerDay: invalid type: string \"x\", expected u8").as_deref(),
            Some("frequencyPerDay")
        );
        assert_eq!(field_in("expected value at line 1 column 1"), None);
    }
}
