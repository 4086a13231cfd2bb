//! The consents' routes: connecting a bank (`POST /v1/users/{user}/connections`), the SCA callback banks send
//! users back to (`GET /callback/sca`, no API key: the single-use state is the credential, and the status is
//! read back from the bank before anything changes), and the user's consents (`GET /v1/users/{user}/consents`:
//! status, validity, days left, renewal links).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use consentry_domain::consent::ConsentAccess;
use consentry_domain::sca::ScaApproach;
use consentry_domain::ConsentId;
use consentry_projections::Projection;
use serde::{Deserialize, Serialize};

use super::ConnectRequest;
use super::ConsentView;
use crate::http::api::{json_body, page, read_your_writes, user, ApiError, Tenant};
use crate::http::AppState;
use crate::{EngineError, RequestContext};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/callback/sca", get(sca_callback))
        .route("/v1/users/{user}/connections", post(connect))
        .route("/v1/users/{user}/consents", get(consents))
}

#[derive(Deserialize)]
struct CallbackParameters {
    state: Option<String>,
}

async fn sca_callback(State(app): State<AppState>, Query(parameters): Query<CallbackParameters>) -> Response {
    let Some(state) = parameters.state else {
        return page(StatusCode::BAD_REQUEST, "Connection refused", "The link has no state.");
    };
    match app.engine.complete_sca_callback(&state).await {
        Ok((_, status)) => page(
            StatusCode::OK,
            "Bank connection",
            &format!("The bank reports this connection {status}."),
        ),
        Err(EngineError::CallbackRefused(_)) => page(
            StatusCode::BAD_REQUEST,
            "Connection refused",
            "This link is unknown, was already used, or has expired. Start connecting the bank again.",
        ),
        Err(error) => {
            tracing::warn!(%error, "SCA callback could not be completed");
            page(
                StatusCode::BAD_GATEWAY,
                "Bank unavailable",
                "The bank could not confirm the connection; try again.",
            )
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectBody {
    bank: String,
    psu_ip_address: String,
    #[serde(default)]
    valid_until: Option<NaiveDate>,
    #[serde(default)]
    frequency_per_day: Option<u8>,
    #[serde(default)]
    approach: Option<ScaApproach>,
}

/// A connection started: the consent, and where the user authorises it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Connected {
    consent_id: ConsentId,
    approach: ScaApproach,
    /// Redirect approach: the bank's page to send the user to.
    sca_redirect: Option<String>,
}

async fn connect(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    body: Result<Json<ConnectBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let user = user(&user_id)?;
    let body = json_body(body)?;
    let ctx = RequestContext::user(tenant, user);
    let request = ConnectRequest {
        bank: body.bank,
        psu_ip_address: body.psu_ip_address,
        psu_id: None,
        access: ConsentAccess::AllPsd2,
        valid_until: body
            .valid_until
            .unwrap_or_else(|| app.engine.now().date_naive() + Duration::days(89)),
        frequency_per_day: body.frequency_per_day.unwrap_or(4),
        callback_url: app.callback_url.clone(),
        approach: body.approach,
        renewal_of: None,
    };
    let started = app.engine.connect_bank(&ctx, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(Connected {
            consent_id: started.consent,
            approach: started.approach,
            sca_redirect: started.sca_redirect,
        }),
    ))
}

#[derive(Serialize)]
struct Consents {
    consents: Vec<ConsentView>,
}

async fn consents(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
) -> Result<Json<Consents>, ApiError> {
    let user = user(&user_id)?;
    read_your_writes(&app, Projection::CONSENTS).await?;
    let consents = app.engine.consents(tenant, user).await?;
    Ok(Json(Consents { consents }))
}
