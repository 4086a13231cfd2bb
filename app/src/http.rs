//! Consentry's HTTP interface (axum), served by `consentry serve`.
//!
//! - `GET /callback/sca`: where banks send the user back after the redirect SCA. It is verified (a state this
//!   engine issued, used once, recent) and the consent's status is read back from the bank before anything
//!   changes. It needs no API key: the state is the credential.
//! - `/v1/...`: the tenant's API, with `Authorization: Bearer <api key>`. Every query is scoped to the key's
//!   tenant, so one tenant's key never reads another tenant's data. `POST /v1/users/{user}/connections`
//!   connects a bank; `GET /v1/users/{user}/balances` aggregates balances across the user's banks (fetched at
//!   once; the banks that failed are listed next to the data), with a total in `?base=` (EUR by default).
//!   `GET /v1/users/{user}/accounts` and `/transactions?from=&to=` first refresh every bank at once, then answer
//!   from the read models with the banks that failed; `/spending?month=YYYY-MM` reads the spending read model;
//!   `GET /v1/users/{user}/consents` lists the user's consents (status, validity, days left, renewal links) and
//!   `/payments` their payment orders with every status each reached. Transactions come in pages (`limit`,
//!   default 500, at most 1,000); a page with more after it carries `next`, which `cursor=` asks for (keyset
//!   paging: rows stored meanwhile never shift a page; the next pages do not refresh the banks again).
//!   `GET`/`POST /v1/categorisation-rules` and `DELETE /v1/categorisation-rules/{id}` manage the tenant's own
//!   rules (for transactions projected from then on; a replay re-categorises history).
//!   `PSU-IP-Address` on a request means the user is present (the call is not counted against
//!   frequencyPerDay).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use consentry_domain::bank::PsuContext;
use consentry_domain::consent::ConsentAccess;
use consentry_domain::rates::RatesPort;
use consentry_domain::sca::ScaApproach;
use consentry_domain::{Currency, FieldError, TenantId, UserId};
use consentry_projections::categorise::Rule;
use consentry_projections::Projection;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::aggregation::BalancePreference;
use crate::bank_flows::ConnectRequest;
use crate::queries::TransactionCursor;
use crate::{Engine, EngineError, RequestContext};

#[derive(Clone)]
struct AppState {
    engine: Arc<Engine>,
    rates: Arc<dyn RatesPort>,
    callback_url: String,
}

/// An API error as JSON: `{"error": "...", "field": "..."}` with the fitting status.
struct ApiError(StatusCode, Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
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
            return ApiError(
                StatusCode::BAD_REQUEST,
                json!({ "error": error.to_string(), "field": field }),
            );
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
        ApiError(status, json!({ "error": error.to_string() }))
    }
}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError(
            StatusCode::BAD_REQUEST,
            json!({ "error": error.to_string(), "field": error.field }),
        )
    }
}

/// The tenant an `Authorization: Bearer` key belongs to.
struct Tenant(TenantId);

/// Query parameters, or a 400 in the API's JSON shape saying which parameter is wrong and how.
struct Params<T>(T);

impl<T: serde::de::DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(parameters)| Params(parameters))
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, json!({ "error": e.body_text() })))
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorised = || {
            ApiError(
                StatusCode::UNAUTHORIZED,
                json!({ "error": "a valid API key is required" }),
            )
        };
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

fn user(raw: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(raw)?)
}

fn psu(headers: &HeaderMap) -> PsuContext {
    match headers.get("psu-ip-address").and_then(|v| v.to_str().ok()) {
        Some(ip) if !ip.trim().is_empty() => PsuContext::present(ip.trim()),
        _ => PsuContext::absent(),
    }
}

fn failures_json(failures: &[crate::aggregation::BankFailure]) -> Value {
    failures
        .iter()
        .map(|f| json!({ "bank": f.bank, "consentId": f.consent, "reason": f.reason }))
        .collect()
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(html)).into_response()
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

/// A JSON body, or a 400 saying what is wrong with it (serde names the field and where).
fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(body)| body)
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, json!({ "error": e.body_text() })))
}

/// The tenant's own categorisation rules, highest priority first.
async fn rules(State(app): State<AppState>, Tenant(tenant): Tenant) -> Result<Json<Value>, ApiError> {
    let rules = app.engine.categorisation_rules(tenant).await?;
    Ok(Json(json!({ "rules": rules })))
}

/// Adds a rule for the transactions projected from now on (`consentry replay --projection transactions` and
/// `spending` re-categorise history).
async fn add_rule(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    body: Result<Json<Rule>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = app.engine.add_categorisation_rule(tenant, json_body(body)?).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

async fn delete_rule(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(rule_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id =
        uuid::Uuid::parse_str(&rule_id).map_err(|_| FieldError::new("ruleId", format!("{rule_id:?} is not a UUID")))?;
    if app.engine.delete_categorisation_rule(tenant, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("the tenant has no rule {id}") }),
        ))
    }
}

async fn connect(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    body: Result<Json<ConnectBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
        Json(json!({
            "consentId": started.consent,
            "approach": started.approach,
            "scaRedirect": started.sca_redirect,
        })),
    ))
}

#[derive(Deserialize)]
struct BalanceParameters {
    base: Option<String>,
}

async fn balances(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(parameters): Params<BalanceParameters>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    let base = match parameters.base {
        Some(code) => Currency::parse_field("base", &code)?,
        None => Currency::EUR,
    };
    let ctx = match psu(&headers).ip_address() {
        Some(_) => RequestContext::user(tenant, user),
        None => RequestContext::system(tenant, Some(user)),
    };
    let aggregated = app
        .engine
        .aggregate_balances(
            &ctx,
            user,
            &psu(&headers),
            base,
            &BalancePreference::default(),
            app.rates.as_ref(),
        )
        .await?;
    let accounts: Vec<Value> = aggregated
        .accounts
        .iter()
        .map(|a| {
            json!({
                "bank": a.bank,
                "consentId": a.consent,
                "accountId": a.account,
                "iban": a.iban,
                "currency": a.currency,
                "name": a.name,
                "balanceType": a.preferred.as_ref().map(|b| b.balance_type.as_str()),
                "balance": a.preferred.as_ref().map(|b| b.amount),
            })
        })
        .collect();
    let failures = failures_json(&aggregated.failures);
    let total = match &aggregated.total {
        Ok(total) => {
            json!({ "amount": total.amount, "ratesDate": total.rates_date, "ratesSource": total.rates_source })
        }
        Err(reason) => json!({ "error": reason }),
    };
    Ok(Json(
        json!({ "accounts": accounts, "failures": failures, "total": total }),
    ))
}

/// Brings the user's data up to date from every bank at once, then lets the read models catch up; returns the
/// banks that failed, to be listed next to the data.
async fn refresh(app: &AppState, tenant: TenantId, user: UserId, headers: &HeaderMap) -> Result<Value, ApiError> {
    let psu = psu(headers);
    let ctx = match psu.ip_address() {
        Some(_) => RequestContext::user(tenant, user),
        None => RequestContext::job(tenant, Some(user)),
    };
    let outcome = app.engine.refresh_user(&ctx, user, &psu).await?;
    app.engine
        .projection_runner()
        .catch_up()
        .await
        .map_err(EngineError::from)?;
    Ok(failures_json(&outcome.failures))
}

/// Applies what the log holds beyond `projection`'s checkpoint, so an answer includes the caller's own writes
/// (a consent just connected, a payment just sent) before the live runner gets to them; unless a transaction
/// older than them is still open, which holds the feed back for that moment.
async fn read_your_writes(app: &AppState, projection: Projection) -> Result<(), ApiError> {
    let runner = app.engine.projection_runner().with_projections(vec![projection]);
    runner.catch_up().await.map_err(EngineError::from)?;
    Ok(())
}

async fn consents(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    read_your_writes(&app, Projection::CONSENTS).await?;
    let consents = app.engine.consents(tenant, user).await?;
    Ok(Json(json!({ "consents": consents })))
}

async fn payments(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    read_your_writes(&app, Projection::PAYMENTS).await?;
    let payments = app.engine.payments(tenant, user).await?;
    Ok(Json(json!({ "payments": payments })))
}

async fn accounts(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    let failures = refresh(&app, tenant, user, &headers).await?;
    let accounts = app.engine.accounts(tenant, user).await?;
    Ok(Json(json!({ "accounts": accounts, "failures": failures })))
}

#[derive(Deserialize)]
struct PeriodParameters {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    /// Transactions per page (default [`DEFAULT_PAGE`], at most [`MAX_PAGE`]).
    limit: Option<usize>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

const DEFAULT_PAGE: usize = 500;
const MAX_PAGE: usize = 1_000;

async fn transactions(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(period): Params<PeriodParameters>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    let to = period.to.unwrap_or_else(|| app.engine.now().date_naive());
    let from = period.from.unwrap_or(to - Duration::days(30));
    if from > to {
        return Err(FieldError::new("from", format!("{from} is after to ({to})")).into());
    }
    let limit = period.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(FieldError::new("limit", format!("{limit} is not between 1 and {MAX_PAGE}")).into());
    }
    let after = period.cursor.as_deref().map(TransactionCursor::decode).transpose()?;
    // The first page brings the banks' news in; the next pages page through the same listing.
    let failures = match after {
        None => refresh(&app, tenant, user, &headers).await?,
        Some(_) => json!([]),
    };
    let page = app
        .engine
        .transactions_page(tenant, user, from, to, Some(limit), after.as_ref())
        .await?;
    let next = page.next.as_ref().map(TransactionCursor::encode);
    Ok(Json(
        json!({ "transactions": page.transactions, "next": next, "failures": failures }),
    ))
}

#[derive(Deserialize)]
struct MonthParameters {
    month: String,
}

async fn spending(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(parameters): Params<MonthParameters>,
) -> Result<Json<Value>, ApiError> {
    let user = user(&user_id)?;
    let month = parameters.month;
    if NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
        return Err(FieldError::new("month", format!("{month:?} is not a month such as 2026-01")).into());
    }
    let lines = app.engine.spending(tenant, user, &month).await?;
    Ok(Json(json!({ "month": month, "spending": lines })))
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/callback/sca", get(sca_callback))
        .route("/v1/categorisation-rules", get(rules).post(add_rule))
        .route("/v1/categorisation-rules/{rule}", delete(delete_rule))
        .route("/v1/users/{user}/connections", post(connect))
        .route("/v1/users/{user}/consents", get(consents))
        .route("/v1/users/{user}/payments", get(payments))
        .route("/v1/users/{user}/balances", get(balances))
        .route("/v1/users/{user}/accounts", get(accounts))
        .route("/v1/users/{user}/transactions", get(transactions))
        .route("/v1/users/{user}/spending", get(spending))
        .with_state(state)
}

/// A running HTTP server.
pub struct HttpServer {
    address: SocketAddr,
    callback_url: String,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl HttpServer {
    /// Serves `engine` on `address` (port 0: any free port), with `rates` for totals. Banks send users back to
    /// `public_url`'s `/callback/sca` (default: the address served, which suits a local setup).
    pub async fn start(
        engine: Arc<Engine>,
        rates: Arc<dyn RatesPort>,
        address: SocketAddr,
        public_url: Option<&str>,
    ) -> Result<Self, std::io::Error> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let base = public_url.map_or_else(
            || format!("http://{address}"),
            |url| url.trim_end_matches('/').to_owned(),
        );
        let callback_url = format!("{base}/callback/sca");
        let app = router(AppState {
            engine,
            rates,
            callback_url: callback_url.clone(),
        });
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            address,
            callback_url,
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL banks send users back to.
    pub fn callback_url(&self) -> String {
        self.callback_url.clone()
    }

    pub async fn wait(self) -> Result<(), std::io::Error> {
        self.task.await.map_err(std::io::Error::other)?
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
