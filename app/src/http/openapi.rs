//! The OpenAPI 3.1 document, generated from the routes' own `#[utoipa::path]` attributes and served at
//! `GET /openapi.json` (no key needed). This module adds what no single route owns: the API's description, the
//! bearer security scheme (required everywhere unless a route says otherwise), and the problem schema.

use std::sync::Arc;

use axum::extract::Extension;
use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::Problem;
use super::AppState;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.description = Some("A tenant's API key (`consentry tenant create`).".to_owned());
        components.add_security_scheme("apiKey", SecurityScheme::Http(scheme));
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Consentry",
        description = "Open-banking consents, account information and payments under PSD2, per tenant. Errors are \
                       RFC 9457 problem documents (`application/problem+json`); docs/api.md lists their types.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerKey),
    security(("apiKey" = [])),
    components(schemas(Problem)),
    tags(
        (name = "consents", description = "Connecting banks and the consents that follow"),
        (name = "account information", description = "Accounts, balances, transactions, spending, rules"),
        (name = "payments", description = "Payment orders"),
        (name = "service", description = "The service itself")
    )
)]
struct ApiDoc;

/// What the routes' documents are merged into.
pub(super) fn base() -> OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

/// The whole document: every route's, with the parts above.
pub fn openapi() -> OpenApi {
    let (_, document) = super::routes().split_for_parts();
    document
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document))
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn document(Extension(document): Extension<Arc<OpenApi>>) -> Json<OpenApi> {
    Json(document.as_ref().clone())
}
