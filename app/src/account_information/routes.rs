//! The account-information routes, every one for the user a path names:
//!
//! - `GET /v1/users/{user}/balances`: balances aggregated across the user's banks (fetched at once; the banks
//!   that failed are listed next to the data), with a total in `?base=` (EUR by default) and the rates' date.
//! - `GET /v1/users/{user}/accounts` and `/transactions?from=&to=`: first refresh every bank at once, then answer
//!   from the read models with the banks that failed. Transactions come in pages (`limit`, default 500, at most
//!   1,000); a page with more after it carries `next`, which `cursor=` asks for (keyset paging: rows stored
//!   meanwhile never shift a page; the next pages do not refresh the banks again).
//! - `GET /v1/users/{user}/spending?month=YYYY-MM`: the spending read model.
//! - `GET`/`POST /v1/categorisation-rules` and `DELETE /v1/categorisation-rules/{id}`: the tenant's own rules
//!   (for transactions projected from then on; a replay re-categorises history).
//!
//! `PSU-IP-Address` on a request means the user is present (the call is not counted against frequencyPerDay).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::{Duration, NaiveDate};
use consentry_domain::rates::Total;
use consentry_domain::{BankId, ConsentId, Currency, FieldError, Iban, Money, TenantId, UserId};
use consentry_projections::categorise::Rule;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{AccountView, SpendingLine, TenantRule, TransactionCursor, TransactionView};
use crate::account_information::aggregation::{BalancePreference, BankFailure};
use crate::http::api::{json_body, psu, user, ApiError, Params, Tenant};
use crate::http::AppState;
use crate::{EngineError, RequestContext};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/categorisation-rules", get(rules).post(add_rule))
        .route("/v1/categorisation-rules/{rule}", delete(delete_rule))
        .route("/v1/users/{user}/balances", get(balances))
        .route("/v1/users/{user}/accounts", get(accounts))
        .route("/v1/users/{user}/transactions", get(transactions))
        .route("/v1/users/{user}/spending", get(spending))
}

/// A bank whose answer did not arrive, listed next to the data that did.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    bank: BankId,
    consent_id: ConsentId,
    reason: String,
}

fn failures(failures: &[BankFailure]) -> Vec<Failure> {
    failures
        .iter()
        .map(|f| Failure {
            bank: f.bank.clone(),
            consent_id: f.consent,
            reason: f.reason.clone(),
        })
        .collect()
}

#[derive(Serialize)]
struct Rules {
    rules: Vec<TenantRule>,
}

/// The tenant's own categorisation rules, highest priority first.
async fn rules(State(app): State<AppState>, Tenant(tenant): Tenant) -> Result<Json<Rules>, ApiError> {
    let rules = app.engine.categorisation_rules(tenant).await?;
    Ok(Json(Rules { rules }))
}

#[derive(Serialize)]
struct RuleAdded {
    id: Uuid,
}

/// Adds a rule for the transactions projected from now on (`consentry replay --projection transactions` and
/// `spending` re-categorise history).
async fn add_rule(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    body: Result<Json<Rule>, JsonRejection>,
) -> Result<(StatusCode, Json<RuleAdded>), ApiError> {
    let id = app.engine.add_categorisation_rule(tenant, json_body(body)?).await?;
    Ok((StatusCode::CREATED, Json(RuleAdded { id })))
}

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
            StatusCode::NOT_FOUND,
            format!("the tenant has no rule {id}"),
        ))
    }
}

#[derive(Deserialize)]
struct BalanceParameters {
    base: Option<String>,
}

/// One account with its preferred balance.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountBalance {
    bank: BankId,
    consent_id: ConsentId,
    account_id: String,
    iban: Option<Iban>,
    currency: Currency,
    name: Option<String>,
    balance_type: Option<&'static str>,
    balance: Option<Money>,
}

/// The total in the base currency with the rates that produced it, or why there is none.
#[derive(Serialize)]
#[serde(untagged)]
enum TotalOrError {
    #[serde(rename_all = "camelCase")]
    Total {
        amount: Money,
        rates_date: NaiveDate,
        rates_source: String,
    },
    Error {
        error: String,
    },
}

#[derive(Serialize)]
struct Balances {
    accounts: Vec<AccountBalance>,
    failures: Vec<Failure>,
    total: TotalOrError,
}

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

/// Brings the user's data up to date from every bank at once, then lets the read models catch up; returns the
/// banks that failed, to be listed next to the data.
async fn refresh(
    app: &AppState,
    tenant: TenantId,
    user: UserId,
    headers: &HeaderMap,
) -> Result<Vec<Failure>, ApiError> {
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
    Ok(failures(&outcome.failures))
}

#[derive(Serialize)]
struct Accounts {
    accounts: Vec<AccountView>,
    failures: Vec<Failure>,
}

async fn accounts(
    State(app): State<AppState>,
    Tenant(tenant): Tenant,
    Path(user_id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Accounts>, ApiError> {
    let user = user(&user_id)?;
    let failures = refresh(&app, tenant, user, &headers).await?;
    let accounts = app.engine.accounts(tenant, user).await?;
    Ok(Json(Accounts { accounts, failures }))
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

#[derive(Serialize)]
struct Transactions {
    transactions: Vec<TransactionView>,
    /// The cursor of the next page, when there is one.
    next: Option<String>,
    failures: Vec<Failure>,
}

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
    let failures = match after {
        None => refresh(&app, tenant, user, &headers).await?,
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

#[derive(Deserialize)]
struct MonthParameters {
    month: String,
}

#[derive(Serialize)]
struct Spending {
    month: String,
    spending: Vec<SpendingLine>,
}

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
