//! The payments' routes: the user's payment orders with every status each reached
//! (`GET /v1/users/{user}/payments`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use consentry_projections::Projection;
use serde::Serialize;

use super::PaymentView;
use crate::http::api::{read_your_writes, user, ApiError, Tenant};
use crate::http::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/users/{user}/payments", get(payments))
}

#[derive(Serialize)]
struct Payments {
    payments: Vec<PaymentView>,
}

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
