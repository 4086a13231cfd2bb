//! The account-information routes, every one for the user a path names:
//!
//! - `GET /v1/users/{user}/balances`: balances aggregated across the user's banks (fetched at once; the banks
//!   that failed are listed next to the data), with a total in `?base=` (EUR by default) and the rates' date.
//! - `GET /v1/users/{user}/accounts` and `/transactions?from=&to=`: first refresh every bank at once, then answer
//!   from the read models with the banks that failed. Transactions come in pages (`limit`, default 500, at most
//!   1,000); a page with more after it carries `next`, which `cursor=` asks for (keyset paging: rows stored
//!   meanwhile never shift a page; the next pages do not refresh the banks again).
//! - `GET /v1/users/{user}/spending?month=YYYY-MM`: the spending read model.
//! - `POST /v1/users/{user}/refresh`: a user-present refresh of every bank (the body carries the user's IP
//!   address, sent as PSU-IP-Address), with what each bank brought and the banks that failed.
//! - `GET`/`POST /v1/categorisation-rules` and `DELETE /v1/categorisation-rules/{id}`: the tenant's own rules
//!   (for transactions projected from then on; a replay re-categorises history). The POSTs are idempotent.
//!
//! `PSU-IP-Address` on a request means the user is present (the call is not counted against frequencyPerDay).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{Duration, NaiveDate};
use consentry_domain::bank::PsuContext;
use consentry_domain::rates::Total;
use consentry_domain::{AccountCurrency, BankId, ConsentId, Currency, FieldError, Iban, Money, TenantId, UserId};
use consentry_projections::categorise::Rule;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{AccountView, SpendingLine, TenantRule, TransactionCursor, TransactionView};
use crate::account_information::aggregation::{BalancePreference, BankFailure};
use crate::account_information::sync::SyncReport;
use crate::http::api::{
    ip_address, json_body, psu, user, ApiError, BodyProblems, Params, ProblemType, Problems, Tenant,
};
use crate::http::views::{
    AccountViewSchema, MoneySchema, RuleSchema, SpendingLineSchema, TenantRuleSchema, TransactionViewSchema,
};
use crate::http::{idempotent, AppState};
use crate::{EngineError, RequestContext};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(rules))
        .routes(idempotent(routes!(add_rule)))
        .routes(routes!(delete_rule))
        .routes(routes!(balances))
        .routes(routes!(accounts))
        .routes(routes!(transactions))
        .routes(routes!(spending))
        .routes(idempotent(routes!(refresh_banks)))
}

/// The user a path names, for the documents.
const USER: &str = "The host's id of the user";

/// A bank whose answer did not arrive, or one entry of a bank's answer that did not parse (then `resource`,
/// `entry` and `field` say which: it was kept out, and the rest of the answer was kept), listed next to the
/// data that did arrive.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Failure {
    #[schema(value_type = String)]
    bank: BankId,
    #[schema(value_type = Uuid)]
    consent_id: ConsentId,
    reason: String,
    /// The bank resource whose answer held the entry: `accounts`, `accounts/{id}/balances`, ….
    resource: Option<String>,
    /// The entry's id as the bank sent it, else its place in the answer (`booked[3]`).
    entry: Option<String>,
    /// The field that did not parse.
    field: Option<String>,
}

fn failures(failures: &[BankFailure]) -> Vec<Failure> {
    failures
        .iter()
        .map(|f| Failure {
            bank: f.bank.clone(),
            consent_id: f.consent,
            reason: f.reason.clone(),
            resource: f.entry.as_ref().map(|e| e.resource.clone()),
            entry: f.entry.as_ref().map(|e| e.entry.clone()),
            field: f.entry.as_ref().map(|e| e.field.clone()),
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
struct Rules {
    #[schema(value_type = Vec<TenantRuleSchema>)]
    rules: Vec<TenantRule>,
}

/// The tenant's own categorisation rules, highest priority first.
#[utoipa::path(
    get,
    path = "/v1/categorisation-rules",
    tag = "account information",
    responses((status = 200, description = "The tenant's rules", body = Rules), Problems)
)]
async fn rules(State(app): State<AppState>, Tenant(tenant): Tenant) -> Result<Json<Rules>, ApiError> {
    let rules = app.engine.categorisation_rules(tenant).await?;
    Ok(Json(Rules { rules }))
}

#[derive(Serialize, ToSchema)]
struct RuleAdded {
    id: Uuid,
}

/// Adds a rule for the transactions projected from now on (`consentry replay --projection transactions` and
/// `spending` re-categorise history).
#[utoipa::path(
    post,
    path = "/v1/categorisation-rules",
    tag = "account information",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer what the first request answered")),
    request_body = RuleSchema,
    responses((status = 201, description = "The rule's id", body = RuleAdded), BodyProblems)
)]
async fn add_rule(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    body: Result<Json<Rule>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleAdded>), ApiError> {
    let id = app.engine.add_categorisation_rule(tenant, json_body(body)?).await?;
    Ok((StatusCode::CREATED, Json(RuleAdded { id })))
}

/// Deletes one of the tenant's rules.
#[utoipa::path(
    delete,
    path = "/v1/categorisation-rules/{rule}",
    tag = "account information",
    params(("rule" = Uuid, Path, description = "The rule's id")),
    responses((status = 204, description = "Deleted"), Problems)
)]
async fn delete_rule(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(rule_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = Uuid::parse_str(&rule_id).map_err(|_| FieldError::new("ruleId", format!("{rule_id:?} is not a UUID")))?;
    if app.engine.delete_categorisation_rule(tenant, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ProblemType::NotFound,
            format!("the tenant has no rule {id}"),
        ))
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct BalanceParameters {
    /// The currency of the total (ISO 4217, default EUR).
    base: Option<String>,
}

/// One account with its preferred balance.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AccountBalance {
    #[schema(value_type = String)]
    bank: BankId,
    #[schema(value_type = Uuid)]
    consent_id: ConsentId,
    account_id: String,
    #[schema(value_type = Option<String>)]
    iban: Option<Iban>,
    #[schema(value_type = String)]
    currency: AccountCurrency,
    name: Option<String>,
    #[schema(value_type = Option<String>)]
    balance_type: Option<&'static str>,
    #[schema(value_type = Option<MoneySchema>)]
    balance: Option<Money>,
}

/// The total in the base currency with the rates that produced it, or why there is none.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum TotalOrError {
    #[serde(rename_all = "camelCase")]
    Total {
        #[schema(value_type = MoneySchema)]
        amount: Money,
        rates_date: NaiveDate,
        rates_source: String,
    },
    Error {
        error: String,
    },
}

#[derive(Serialize, ToSchema)]
struct Balances {
    accounts: Vec<AccountBalance>,
    failures: Vec<Failure>,
    total: TotalOrError,
}

/// Balances aggregated across the user's banks, fetched at once, with a total in `base` naming its rates.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/balances",
    tag = "account information",
    params(
        ("user" = Uuid, Path, description = USER),
        BalanceParameters,
        ("PSU-IP-Address" = Option<String>, Header, description = "The user's IP address: the user is present")
    ),
    responses((status = 200, description = "Balances and the banks that failed", body = Balances), Problems)
)]
async fn balances(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(parameters): Params<BalanceParameters>,
    headers: HeaderMap,
) -> Result<Json<Balances>, ApiError> {
    let user = user(&user_id)?;
    let base = match parameters.base {
        Some(code) => Currency::parse_field("base", &code)?,
        None => Currency::EUR,
    };
    let psu = psu(&headers)?;
    let ctx = match psu.ip_address() {
        Some(_) => RequestContext::user(tenant, user),
        None => RequestContext::system(tenant, Some(user)),
    };
    let aggregated = app
        .engine
        .aggregate_balances(
            &ctx,
            user,
            &psu,
            base,
            &BalancePreference::default(),
            app.rates.as_ref(),
        )
        .await?;
    let accounts = aggregated
        .accounts
        .iter()
        .map(|a| AccountBalance {
            bank: a.bank.clone(),
            consent_id: a.consent,
            account_id: a.account.clone(),
            iban: a.iban.clone(),
            currency: a.currency,
            name: a.name.clone(),
            balance_type: a.preferred.as_ref().map(|b| b.balance_type.as_str()),
            balance: a.preferred.as_ref().map(|b| b.amount),
        })
        .collect();
    let total = match aggregated.total {
        Ok(Total {
            amount,
            rates_date,
            rates_source,
        }) => TotalOrError::Total {
            amount,
            rates_date,
            rates_source,
        },
        Err(error) => TotalOrError::Error { error },
    };
    Ok(Json(Balances {
        accounts,
        failures: failures(&aggregated.failures),
        total,
    }))
}

/// Brings the user's data up to date from every bank at once, then lets the read models catch up; returns what
/// each bank brought and the banks that failed.
async fn refresh(
    app: &AppState,
    tenant: TenantId,
    user: UserId,
    psu: &PsuContext,
) -> Result<(Vec<SyncReport>, Vec<Failure>), ApiError> {
    let ctx = match psu.ip_address() {
        Some(_) => RequestContext::user(tenant, user),
        None => RequestContext::job(tenant, Some(user)),
    };
    let outcome = app.engine.refresh_user(&ctx, user, psu).await?;
    app.engine
        .projection_runner()
        .catch_up()
        .await
        .map_err(EngineError::from)?;
    Ok((outcome.synced, failures(&outcome.failures)))
}

/// The user, present: their device's address.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RefreshBody {
    /// The user's device address (IPv4 or IPv6), sent to every bank as PSU-IP-Address.
    psu_ip_address: String,
}

/// What one bank brought.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Synced {
    #[schema(value_type = String)]
    bank: BankId,
    #[schema(value_type = Uuid)]
    consent_id: ConsentId,
    accounts: usize,
    /// Booked transactions not seen before.
    new_booked: usize,
    /// Pending transactions still waiting for their booking.
    pending: usize,
}

#[derive(Serialize, ToSchema)]
struct Refreshed {
    synced: Vec<Synced>,
    failures: Vec<Failure>,
}

/// Refreshes every bank of the user at once with the user present (not counted against frequencyPerDay): what
/// each bank brought, and the banks that failed.
#[utoipa::path(
    post,
    path = "/v1/users/{user}/refresh",
    tag = "account information",
    params(
        ("user" = Uuid, Path, description = USER),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry answer what the first request answered")
    ),
    request_body = RefreshBody,
    responses((status = 200, description = "Per bank: synced or failed", body = Refreshed), BodyProblems)
)]
async fn refresh_banks(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    body: Result<Json<RefreshBody>, JsonRejection>,
) -> Result<Json<Refreshed>, ApiError> {
    let user = user(&user_id)?;
    let body = json_body(body)?;
    let psu = PsuContext::present(ip_address("psuIpAddress", &body.psu_ip_address)?.to_string());
    let (synced, failures) = refresh(&app, tenant, user, &psu).await?;
    let synced = synced
        .into_iter()
        .map(|report| Synced {
            bank: report.bank,
            consent_id: report.consent,
            accounts: report.accounts,
            new_booked: report.new_booked,
            pending: report.pending,
        })
        .collect();
    Ok(Json(Refreshed { synced, failures }))
}

#[derive(Serialize, ToSchema)]
struct Accounts {
    #[schema(value_type = Vec<AccountViewSchema>)]
    accounts: Vec<AccountView>,
    failures: Vec<Failure>,
}

/// The user's accounts at every bank, after refreshing them all at once.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/accounts",
    tag = "account information",
    params(
        ("user" = Uuid, Path, description = USER),
        ("PSU-IP-Address" = Option<String>, Header, description = "The user's IP address: the user is present")
    ),
    responses((status = 200, description = "Accounts and the banks that failed", body = Accounts), Problems)
)]
async fn accounts(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Accounts>, ApiError> {
    let user = user(&user_id)?;
    let (_, failures) = refresh(&app, tenant, user, &psu(&headers)?).await?;
    let accounts = app.engine.accounts(tenant, user).await?;
    Ok(Json(Accounts { accounts, failures }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PeriodParameters {
    /// The first day (default: 30 days before `to`).
    from: Option<NaiveDate>,
    /// The last day (default: today).
    to: Option<NaiveDate>,
    /// Transactions per page (default 500, at most 1,000).
    limit: Option<usize>,
    /// The `next` of the previous page.
    cursor: Option<String>,
}

const DEFAULT_PAGE: usize = 500;
const MAX_PAGE: usize = 1_000;

#[derive(Serialize, ToSchema)]
struct Transactions {
    #[schema(value_type = Vec<TransactionViewSchema>)]
    transactions: Vec<TransactionView>,
    /// The cursor of the next page, when there is one.
    next: Option<String>,
    failures: Vec<Failure>,
}

/// The user's transactions at every bank, newest first, in pages; the first page refreshes the banks.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/transactions",
    tag = "account information",
    params(
        ("user" = Uuid, Path, description = USER),
        PeriodParameters,
        ("PSU-IP-Address" = Option<String>, Header, description = "The user's IP address: the user is present")
    ),
    responses((status = 200, description = "A page of transactions and the banks that failed", body = Transactions), Problems)
)]
async fn transactions(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(period): Params<PeriodParameters>,
    headers: HeaderMap,
) -> Result<Json<Transactions>, ApiError> {
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
    let psu = psu(&headers)?;
    let failures = match after {
        None => refresh(&app, tenant, user, &psu).await?.1,
        Some(_) => Vec::new(),
    };
    let page = app
        .engine
        .transactions_page(tenant, user, from, to, Some(limit), after.as_ref())
        .await?;
    Ok(Json(Transactions {
        transactions: page.transactions,
        next: page.next.as_ref().map(TransactionCursor::encode),
        failures,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthParameters {
    /// `YYYY-MM`.
    month: String,
}

#[derive(Serialize, ToSchema)]
struct Spending {
    month: String,
    #[schema(value_type = Vec<SpendingLineSchema>)]
    spending: Vec<SpendingLine>,
}

/// The user's spending and income in a month, per category and currency.
#[utoipa::path(
    get,
    path = "/v1/users/{user}/spending",
    tag = "account information",
    params(("user" = Uuid, Path, description = USER), MonthParameters),
    responses((status = 200, description = "The month's lines", body = Spending), Problems)
)]
async fn spending(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    Params(parameters): Params<MonthParameters>,
) -> Result<Json<Spending>, ApiError> {
    let user = user(&user_id)?;
    let month = parameters.month;
    if NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_err() {
        return Err(FieldError::new("month", format!("{month:?} is not a month such as 2026-01")).into());
    }
    let spending = app.engine.spending(tenant, user, &month).await?;
    Ok(Json(Spending { month, spending }))
}
