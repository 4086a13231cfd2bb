//! The payments' routes: paying (`POST /v1/users/{user}/payments`, Idempotency-Key honoured), one payment with
//! its status history, its SCA link while needed, its attempts and what it waits for
//! (`GET /v1/users/{user}/payments/{payment}`), cancelling it (`DELETE …/{payment}`), and the user's payment
//! orders (`GET /v1/users/{user}/payments`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use consentry_domain::payment::{InitiationPhase, PaymentProduct, PaymentService, PaymentState, TransactionStatus};
use consentry_domain::sca::ScaApproach;
use consentry_domain::{PaymentId, TenantId, UserId};
use consentry_projections::read_models::due_work::WorkKind;
use consentry_projections::Projection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Cancellation, PaymentInput, PaymentStart, PaymentView, Resolution};
use crate::http::api::{json_body, read_your_writes, user, ApiError, BodyProblems, Problems, Tenant};
use crate::http::problem::ProblemType;
use crate::http::views::{PaymentViewSchema, ScaApproachSchema};
use crate::http::{idempotent, AppState};
use crate::{Engine, EngineError, RequestContext};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payments))
        .routes(idempotent(routes!(pay)))
        .routes(routes!(payment, cancel))
        .routes(idempotent(routes!(resolve)))
}

#[derive(Serialize, ToSchema)]
struct Payments {
    #[schema(value_type = Vec<PaymentViewSchema>)]
    payments: Vec<PaymentView>,
}

/// The user's payment orders, with every status each reached.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/payments",
    tag = "payments",
    params(("user" = uuid::Uuid, Path, description = "The host's id of the user")),
    responses((status = 200, description = "The user's payments", body = Payments), Problems)
)]
async fn payments(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
) -> Result<Json<Payments>, ApiError> {
    let user = user(&user_id)?;
    read_your_writes(&app, Projection::PAYMENTS).await?;
    let payments = app.engine.payments(tenant, user).await?;
    Ok(Json(Payments { payments }))
}

/// A payment to make.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PayBody {
    /// A configured bank (`swedbank`, `seb`, ...).
    bank: String,
    /// The payment product (default `sepa-credit-transfers`).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "sepa-credit-transfers")]
    product: Option<PaymentProduct>,
    debtor_iban: String,
    creditor_iban: String,
    creditor_name: String,
    /// A decimal amount such as `12.34`.
    amount: String,
    /// ISO 4217 (default EUR).
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    remittance_information: Option<String>,
    /// The user's device address (IPv4 or IPv6), sent to the bank as PSU-IP-Address.
    psu_ip_address: String,
    /// Overrides the bank's configured SCA approach.
    #[serde(default)]
    #[schema(value_type = Option<ScaApproachSchema>)]
    approach: Option<ScaApproach>,
}

/// A payment initiated: where it stands, and where the user authorises it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Paid {
    #[schema(value_type = uuid::Uuid)]
    payment_id: PaymentId,
    #[schema(value_type = ScaApproachSchema)]
    approach: ScaApproach,
    /// The bank's ISO 20022 status, when it answered.
    #[schema(value_type = Option<String>)]
    status: Option<TransactionStatus>,
    /// `submitted` when the bank has it; `outcomeUnknown` when its answer was lost (the payment is reconciled,
    /// never sent again); `ready` when it did not reach the bank.
    #[schema(value_type = String)]
    phase: InitiationPhase,
    /// Redirect approach: the bank's page where the user authorises the payment.
    sca_redirect: Option<String>,
}

/// Pays: records the order, sends it to the bank (never twice), starts its authorisation and answers where the
/// user authorises it. Its status is then followed on its own; read it with GET.
#[utoipa::path(
    post,
    path = "/v1/users/{user}/payments",
    tag = "payments",
    params(
        ("user" = uuid::Uuid, Path, description = "The host's id of the user"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer what the first request answered")
    ),
    request_body = PayBody,
    responses((status = 201, description = "The payment, initiated", body = Paid), BodyProblems)
)]
async fn pay(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    body: Result<Json<PayBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Paid>), ApiError> {
    let user = user(&user_id)?;
    let body = json_body(body)?;
    let ctx = RequestContext::user(tenant, user);
    let start = PaymentStart {
        order: PaymentInput {
            bank: body.bank,
            service: PaymentService::Payments,
            product: body.product.unwrap_or(PaymentProduct::SepaCreditTransfers),
            debtor_iban: body.debtor_iban,
            creditor_iban: body.creditor_iban,
            creditor_name: body.creditor_name,
            amount: body.amount,
            currency: body.currency.unwrap_or_else(|| "EUR".into()),
            remittance_information: body.remittance_information,
        },
        psu_ip_address: body.psu_ip_address,
        callback_url: app.callback_url.clone(),
        approach: body.approach,
    };
    let started = app.engine.start_payment(&ctx, start).await?;
    Ok((
        StatusCode::CREATED,
        Json(Paid {
            payment_id: started.payment,
            approach: started.approach,
            status: started.status,
            phase: started.phase,
            sca_redirect: started.sca_redirect,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct PaymentPath {
    /// The host's id of the user.
    #[param(value_type = uuid::Uuid)]
    user: String,
    /// The payment's id.
    #[param(value_type = uuid::Uuid)]
    payment: String,
}

impl PaymentPath {
    fn parse(&self) -> Result<(UserId, PaymentId), ApiError> {
        let user = user(&self.user)?;
        Ok((user, PaymentId::parse(&self.payment)?))
    }
}

/// One payment: its order and status history, what it waits for, its SCA link while the user must still
/// authorise, its attempts, and when its status is read next.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PaymentDetail {
    #[serde(flatten)]
    #[schema(value_type = PaymentViewSchema)]
    payment: PaymentView,
    /// `authorisation` (the user), `bankStatus` (the bank, polled on its own), `reconciliation` (what became of
    /// an initiation whose answer was lost), `hostDecision` (nothing names the payment at the bank: the host
    /// decides), `sending`, or `nothing` (final, or polling stopped after 24 hours).
    waiting_for: &'static str,
    /// Where the user authorises, while that is what the payment waits for.
    sca_redirect: Option<String>,
    /// 24 hours passed without a final status: polling stopped.
    polling_stopped: bool,
    /// When the payment's status is read next.
    next_status_poll: Option<DateTime<Utc>>,
}

/// What a payment waits for, from its state.
fn waiting_for(state: &PaymentState, reconciling: bool) -> &'static str {
    if state.status.is_some_and(|s| s.is_final()) || state.polling_stopped {
        return "nothing";
    }
    match state.phase {
        InitiationPhase::Ready => "sending",
        InitiationPhase::Sending => "sending",
        InitiationPhase::OutcomeUnknown if reconciling => "reconciliation",
        InitiationPhase::OutcomeUnknown => "hostDecision",
        InitiationPhase::Submitted => match state.status {
            Some(TransactionStatus::Rcvd | TransactionStatus::Pdng | TransactionStatus::Patc)
                if state.sca.redirect_url.is_some() || state.authorisation_id.is_some() =>
            {
                "authorisation"
            }
            _ => "bankStatus",
        },
    }
}

async fn owned(engine: &Engine, tenant: TenantId, user: UserId, id: PaymentId) -> Result<PaymentState, ApiError> {
    let not_found = || ApiError::new(ProblemType::NotFound, format!("payment {id} does not exist"));
    match engine.payment_state(id).await {
        Ok(state) if state.request.tenant == tenant && state.request.user == user => Ok(state),
        Ok(_) | Err(EngineError::NotFound { .. }) => Err(not_found()),
        Err(other) => Err(other.into()),
    }
}

/// One of the user's payments: its status history, what it waits for, its SCA link while needed, its attempts.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/payments/{payment}",
    tag = "payments",
    params(PaymentPath),
    responses((status = 200, description = "The payment", body = PaymentDetail), Problems)
)]
async fn payment(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(path): Path<PaymentPath>,
) -> Result<Json<PaymentDetail>, ApiError> {
    let (user, id) = path.parse()?;
    let state = owned(&app.engine, tenant, user, id).await?;
    read_your_writes(&app, Projection::PAYMENTS).await?;
    read_your_writes(&app, Projection::DUE_WORK).await?;
    let view = app
        .engine
        .payments(tenant, user)
        .await?
        .into_iter()
        .find(|p| p.payment == id)
        .ok_or_else(|| ApiError::new(ProblemType::NotFound, format!("payment {id} does not exist")))?;
    let key = id.to_string();
    let reconciling = app.engine.due_at(WorkKind::PaymentReconcile, &key).await?.is_some();
    let waiting = waiting_for(&state, reconciling);
    Ok(Json(PaymentDetail {
        payment: view,
        waiting_for: waiting,
        sca_redirect: (waiting == "authorisation")
            .then(|| state.sca.redirect_url.clone())
            .flatten(),
        polling_stopped: state.polling_stopped,
        next_status_poll: app.engine.due_at(WorkKind::PaymentPoll, &key).await?,
    }))
}

/// What cancelling did.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Cancelled {
    /// `cancelled`, or `authorisationRequired` (the user authorises the cancellation at the bank).
    outcome: &'static str,
    /// Where the user authorises the cancellation, when the bank gave a link.
    sca_redirect: Option<String>,
}

/// Cancels a payment: before it reached the bank at once; then through the bank, which cancels (204), asks the
/// user to authorise the cancellation (202), or refuses (409, the bank's CANCELLATION_INVALID).
#[utoipa::path(
    delete,
    path = "/v1/users/{user}/payments/{payment}",
    tag = "payments",
    params(PaymentPath),
    responses(
        (status = 200, description = "Cancelled", body = Cancelled),
        (status = 202, description = "The user must authorise the cancellation", body = Cancelled),
        BodyProblems
    )
)]
async fn cancel(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(path): Path<PaymentPath>,
) -> Result<(StatusCode, Json<Cancelled>), ApiError> {
    let (user, id) = path.parse()?;
    owned(&app.engine, tenant, user, id).await?;
    let ctx = RequestContext::user(tenant, user);
    Ok(match app.engine.cancel_payment(&ctx, id).await? {
        Cancellation::Cancelled => (
            StatusCode::OK,
            Json(Cancelled {
                outcome: "cancelled",
                sca_redirect: None,
            }),
        ),
        Cancellation::AuthorisationRequired { sca } => (
            StatusCode::ACCEPTED,
            Json(Cancelled {
                outcome: "authorisationRequired",
                sca_redirect: sca.redirect_url.or(sca.start_authorisation_url),
            }),
        ),
    })
}

/// The host's decision on a payment that waits for it (`waitingFor: hostDecision`): Consentry could not tell
/// whether its initiation reached the bank.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResolveBody {
    /// `notSent`: send it again now, with the same end-to-end id; `sent`: the bank has it as `bankPaymentId`.
    outcome: String,
    /// With `sent`: the bank's payment id, under which its status is read from now on.
    #[serde(default)]
    bank_payment_id: Option<String>,
    /// With `notSent`: the user's device address, sent to the bank as PSU-IP-Address on the new attempt.
    #[serde(default)]
    psu_ip_address: Option<String>,
}

/// What the decision led to.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Resolved {
    #[schema(value_type = uuid::Uuid)]
    payment_id: PaymentId,
    /// The bank's status now, when it answered.
    #[schema(value_type = Option<String>)]
    status: Option<TransactionStatus>,
}

/// Resolves a payment waiting for the host's decision: not sent (sent again with the same end-to-end id), or
/// sent (its status read from the bank under the id the host gives).
#[utoipa::path(
    post,
    path = "/v1/users/{user}/payments/{payment}/resolution",
    tag = "payments",
    params(
        PaymentPath,
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer what the first request answered")
    ),
    request_body = ResolveBody,
    responses((status = 200, description = "Resolved", body = Resolved), BodyProblems)
)]
async fn resolve(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(path): Path<PaymentPath>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Result<Json<Resolved>, ApiError> {
    let (user, id) = path.parse()?;
    let body = json_body(body)?;
    owned(&app.engine, tenant, user, id).await?;
    let psu = match (body.outcome.as_str(), &body.psu_ip_address) {
        (_, Some(raw)) => Some(crate::http::api::ip_address("psuIpAddress", raw)?.to_string()),
        ("notSent", None) => {
            return Err(
                ApiError::new(ProblemType::InvalidField, "a new attempt needs the user's address")
                    .with_field("psuIpAddress"),
            )
        }
        _ => None,
    };
    let resolution = match (body.outcome.as_str(), body.bank_payment_id) {
        ("notSent", None) => Resolution::NotSent,
        ("sent", Some(bank_payment_id)) if !bank_payment_id.trim().is_empty() => Resolution::Sent { bank_payment_id },
        ("sent", _) => {
            return Err(
                ApiError::new(ProblemType::InvalidField, "a sent payment needs the bank's payment id")
                    .with_field("bankPaymentId"),
            )
        }
        ("notSent", Some(_)) => {
            return Err(ApiError::new(
                ProblemType::InvalidField,
                "a payment that was not sent has no bank payment id",
            )
            .with_field("bankPaymentId"))
        }
        (other, _) => {
            return Err(ApiError::new(
                ProblemType::InvalidField,
                format!("{other:?} is not an outcome; the outcomes are notSent and sent"),
            )
            .with_field("outcome"))
        }
    };
    let ctx = RequestContext::user(tenant, user);
    let status = app
        .engine
        .resolve_payment(&ctx, id, resolution, psu.as_deref().unwrap_or_default())
        .await?;
    Ok(Json(Resolved { payment_id: id, status }))
}
