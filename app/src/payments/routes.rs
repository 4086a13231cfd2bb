//! The payments' routes: the user's payment orders with every status each reached
//! (`GET /v1/users/{user}/payments`).

use axum::extract::{Path, State};
use axum::Json;
use consentry_projections::Projection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PaymentView;
use crate::http::api::{read_your_writes, user, ApiError, Problems, Tenant};
use crate::http::views::PaymentViewSchema;
use crate::http::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(payments))
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
