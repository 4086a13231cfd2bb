//! The consents' routes: connecting a bank (`POST /v1/users/{user}/connections`, idempotent), the SCA callback
//! banks send users back to (`GET /callback/sca`, no API key: the single-use state is the credential, and the
//! status is read back from the bank before anything changes), the user's consents
//! (`GET /v1/users/{user}/consents`: status, validity, days left, renewal links), one consent with its
//! unattended budget (`GET /v1/users/{user}/consents/{consent}`), and terminating one at the bank
//! (`DELETE /v1/users/{user}/consents/{consent}`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::sca::ScaApproach;
use consentry_domain::ConsentId;
use consentry_projections::read_models::due_work::WorkKind;
use consentry_projections::Projection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ConsentView;
use super::{CallbackOutcome, ConnectRequest};
use crate::http::api::{
    consent_id, ip_address, json_body, page, read_your_writes, user, ApiError, BodyProblems, ProblemType, Problems,
    Tenant,
};
use crate::http::views::{ConsentStatusSchema, ConsentViewSchema, ScaApproachSchema};
use crate::http::{idempotent, AppState};
use crate::{EngineError, RequestContext};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sca_callback))
        .routes(idempotent(routes!(connect)))
        .routes(routes!(consents))
        .routes(routes!(consent, terminate))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CallbackParameters {
    /// The single-use state Consentry put in the redirect link.
    state: Option<String>,
}

/// Where the bank sends the user back after the redirect SCA: the state is checked, the consent's status read
/// back from the bank, and a page shown to the user.
#[utoipa::path(
    get,
    path = "/callback/sca",
    tag = "consents",
    security(()),
    params(CallbackParameters),
    responses(
        (status = 200, description = "The bank's answer, as a page", content_type = "text/html", body = String),
        (status = 400, description = "The state is missing, unknown, used or expired", content_type = "text/html", body = String),
        (status = 502, description = "The bank could not confirm", content_type = "text/html", body = String)
    )
)]
async fn sca_callback(State(app): State<AppState>, Query(parameters): Query<CallbackParameters>) -> Response {
    let Some(state) = parameters.state else {
        return page(StatusCode::BAD_REQUEST, "Connection refused", "The link has no state.");
    };
    match app.engine.complete_sca_callback(&state).await {
        Ok(CallbackOutcome::Consent(_, status)) => page(
            StatusCode::OK,
            "Bank connection",
            &format!("The bank reports this connection {status}."),
        ),
        Ok(CallbackOutcome::Payment(_, status)) => page(
            StatusCode::OK,
            "Payment",
            &match status {
                Some(status) => format!("The bank reports this payment {status}."),
                None => "The bank has not reported this payment's status yet.".to_owned(),
            },
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

/// A bank to connect for the user.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConnectBody {
    /// A configured bank (`swedbank`, `seb`, ...).
    bank: String,
    /// The user's device address (IPv4 or IPv6), sent to the bank as PSU-IP-Address.
    psu_ip_address: String,
    /// The last day of the consent (default: in 89 days; at most 180 days from today).
    #[serde(default)]
    valid_until: Option<NaiveDate>,
    /// Unattended accesses per day, 1 to 4 (default 4).
    #[serde(default)]
    frequency_per_day: Option<u8>,
    /// Overrides the bank's configured SCA approach.
    #[serde(default)]
    #[schema(value_type = Option<ScaApproachSchema>)]
    approach: Option<ScaApproach>,
}

/// A connection started: the consent, and where the user authorises it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Connected {
    #[schema(value_type = uuid::Uuid)]
    consent_id: ConsentId,
    #[schema(value_type = ScaApproachSchema)]
    approach: ScaApproach,
    /// Redirect approach: the bank's page to send the user to.
    sca_redirect: Option<String>,
}

/// Connects a bank: requests a consent, creates it at the bank, and answers where the user authorises it.
#[utoipa::path(
    post,
    path = "/v1/users/{user}/connections",
    tag = "consents",
    params(
        ("user" = uuid::Uuid, Path, description = "The host's id of the user"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer what the first request answered")
    ),
    request_body = ConnectBody,
    responses((status = 201, description = "The consent, waiting for the user's authorisation", body = Connected), BodyProblems)
)]
async fn connect(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    body: Result<Json<ConnectBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Connected>), ApiError> {
    let user = user(&user_id)?;
    let body = json_body(body)?;
    let psu_ip_address = ip_address("psuIpAddress", &body.psu_ip_address)?;
    let ctx = RequestContext::user(tenant, user);
    let request = ConnectRequest {
        bank: body.bank,
        psu_ip_address: psu_ip_address.to_string(),
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

#[derive(Serialize, ToSchema)]
struct Consents {
    #[schema(value_type = Vec<ConsentViewSchema>)]
    consents: Vec<ConsentView>,
}

/// The user's consents at every bank, whatever their status, with the days each has left.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/consents",
    tag = "consents",
    params(("user" = uuid::Uuid, Path, description = "The host's id of the user")),
    responses((status = 200, description = "The user's consents", body = Consents), Problems)
)]
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

/// The consent's accesses without the user present today.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Budget {
    /// frequencyPerDay.
    per_day: u8,
    /// The most accesses counted today to one resource.
    used_today: u8,
    /// Unattended syncs that still fit today.
    left_today: u8,
}

/// One consent with its unattended budget today and when the next unattended sync may run.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConsentDetail {
    #[serde(flatten)]
    #[schema(value_type = ConsentViewSchema)]
    consent: ConsentView,
    unattended_budget: Budget,
    /// Only for a valid consent: now when a full sync still fits today's budget, else tomorrow's start (UTC).
    next_unattended_sync: Option<DateTime<Utc>>,
    /// When the scheduler syncs the consent next (frequencyPerDay times a day, spread over the day); none once
    /// the consent has ended.
    next_scheduled_sync: Option<DateTime<Utc>>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct ConsentPath {
    /// The host's id of the user.
    #[param(value_type = uuid::Uuid)]
    user: String,
    /// The consent's id.
    #[param(value_type = uuid::Uuid)]
    consent: String,
}

/// One of the user's consents, with its budget of unattended accesses left today and its next unattended sync.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/consents/{consent}",
    tag = "consents",
    params(ConsentPath),
    responses((status = 200, description = "The consent", body = ConsentDetail), Problems)
)]
async fn consent(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(path): Path<ConsentPath>,
) -> Result<Json<ConsentDetail>, ApiError> {
    let (user, id) = (user(&path.user)?, consent_id(&path.consent)?);
    let state = app.engine.consent_of_user(tenant, user, id).await?;
    read_your_writes(&app, Projection::CONSENTS).await?;
    let view = app
        .engine
        .consents(tenant, user)
        .await?
        .into_iter()
        .find(|c| c.consent == id)
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, format!("consent {id} does not exist")))?;
    let budget = app.engine.unattended_budget(id).await?;
    let next_unattended_sync = match state.status() {
        ConsentStatus::Valid => Some(app.engine.next_unattended_sync(id).await?),
        _ => None,
    };
    read_your_writes(&app, Projection::DUE_WORK).await?;
    let next_scheduled_sync = app.engine.due_at(WorkKind::ConsentSync, &id.to_string()).await?;
    Ok(Json(ConsentDetail {
        consent: view,
        unattended_budget: Budget {
            per_day: budget.per_day,
            used_today: budget.used_today,
            left_today: budget.left_today,
        },
        next_unattended_sync,
        next_scheduled_sync,
    }))
}

/// A consent ended on the tenant's behalf.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Terminated {
    #[schema(value_type = uuid::Uuid)]
    consent_id: ConsentId,
    #[schema(value_type = ConsentStatusSchema)]
    status: ConsentStatus,
}

/// Terminates the consent: the bank is told (`DELETE /v1/consents/{id}`), then it is `terminatedByTpp`.
#[utoipa::path(
    delete,
    path = "/v1/users/{user}/consents/{consent}",
    tag = "consents",
    params(ConsentPath),
    responses((status = 200, description = "The consent is terminated", body = Terminated), BodyProblems)
)]
async fn terminate(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(path): Path<ConsentPath>,
) -> Result<Json<Terminated>, ApiError> {
    let (user, id) = (user(&path.user)?, consent_id(&path.consent)?);
    let ctx = RequestContext::user(tenant, user);
    let status = app.engine.terminate_consent(&ctx, id).await?;
    Ok(Json(Terminated { consent_id: id, status }))
}
