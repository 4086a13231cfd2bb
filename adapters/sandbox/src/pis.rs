//! The sandbox's payment-initiation endpoints: initiate, read, status, cancel and authorisations. Payments move
//! RCVD → ACTC → ACSC after their authorisation (in clock time); the rules that reject them (funds limit,
//! blocked creditor) and the de-duplication of a repeated X-Request-ID come from the sandbox configuration.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::ScaApproach;
use consentry_domain::{Iban, Money};
use serde_json::{json, Value};

use super::ais::{approach, authorisation_links, redirect_target, require_request_id};
use super::state::{AuthorisationTarget, BankState, SandboxPayment};
use super::{created, header, SandboxState, TppError};

type Answer = Result<Response, TppError>;

/// The products this sandbox offers; others answer PRODUCT_INVALID, as a bank that lacks them would.
const PRODUCTS: [&str; 3] = [
    "sepa-credit-transfers",
    "instant-sepa-credit-transfers",
    "cross-border-credit-transfers",
];

fn check_product(service: &str, product: &str) -> Result<(), TppError> {
    if service != "payments" {
        return Err(TppError::new(
            StatusCode::BAD_REQUEST,
            "PRODUCT_INVALID",
            format!("payment service {service:?} is not offered"),
        ));
    }
    if !PRODUCTS.contains(&product) {
        return Err(TppError::new(
            StatusCode::BAD_REQUEST,
            "PRODUCT_INVALID",
            format!("payment product {product:?} is not offered"),
        ));
    }
    Ok(())
}

fn iban_at(body: &Value, field: &str) -> Result<Iban, TppError> {
    let text = body
        .get(field)
        .and_then(|a| a.get("iban"))
        .and_then(Value::as_str)
        .ok_or_else(|| TppError::format(format!("{field}.iban is missing")))?;
    // The message leaves the IBAN out: error texts end up in the TPP's logs.
    Iban::parse(text).map_err(|_| TppError::format(format!("{field}.iban is not a valid IBAN")))
}

fn money_at(body: &Value, field: &str) -> Result<Money, TppError> {
    let part = |key: &str| {
        body.get(field)
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .ok_or_else(|| TppError::format(format!("{field}.{key} is missing")))
    };
    let money = Money::parse(field, part("amount")?, part("currency")?).map_err(|e| TppError::format(e.to_string()))?;
    if !money.is_positive() {
        return Err(TppError::format(format!("{field} must be positive")));
    }
    Ok(money)
}

fn created_body(
    base: &str,
    service: &str,
    product: &str,
    id: &str,
    now_status: TransactionStatus,
    authorisation: Option<(&str, ScaApproach)>,
) -> Value {
    let path = format!("{service}/{product}/{id}");
    let mut links = match authorisation {
        Some((authorisation_id, approach)) => {
            authorisation_links(base, &format!("{path}/authorisations"), authorisation_id, approach)
        }
        None => json!({}),
    };
    links["self"] = json!({ "href": format!("{base}/v1/{path}") });
    links["status"] = json!({ "href": format!("{base}/v1/{path}/status") });
    json!({ "transactionStatus": now_status.code(), "paymentId": id, "_links": links })
}

pub(crate) async fn initiate(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    check_product(&service, &product)?;
    let request_id = require_request_id(&headers)?;
    header(&headers, "PSU-IP-Address").ok_or_else(|| TppError::format("PSU-IP-Address header is missing"))?;
    let json: Value = serde_json::from_slice(&body).map_err(|e| TppError::format(format!("body is not JSON: {e}")))?;
    iban_at(&json, "debtorAccount")?;
    let creditor = iban_at(&json, "creditorAccount")?;
    let amount = money_at(&json, "instructedAmount")?;
    json.get("creditorName")
        .and_then(Value::as_str)
        .ok_or_else(|| TppError::format("creditorName is missing"))?;
    if product != "cross-border-credit-transfers" && amount.currency().code() != "EUR" {
        return Err(TppError::format("SEPA and instant SEPA transfers are in EUR"));
    }
    let end_to_end_id = json
        .get("endToEndIdentification")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let instant = product == "instant-sepa-credit-transfers";
    let approach = approach(&headers);
    let base = state.bank_url(&headers, &bank);
    let location = |id: &str| format!("{base}/v1/{service}/{product}/{id}");
    state.with_bank(&bank, |bank_state, state| {
        let config = state.config();
        let now = state.now();
        if config.dedupe_request_ids {
            if let Some((_, first)) = bank_state.payments_by_request_id.get(&request_id) {
                let first = first.clone();
                let status = bank_state.payments[&first].status(now, config);
                let body = created_body(&base, &service, &product, &first, status, None);
                return Ok(created(Some(&location(&first)), Some(approach), body));
            }
        }
        let blocked = BankState::is_blocked(config, &creditor);
        if blocked && instant {
            return Err(TppError::new(
                StatusCode::BAD_REQUEST,
                "PAYMENT_FAILED",
                "the creditor account does not accept instant payments from this bank",
            ));
        }
        let payment_id = uuid::Uuid::new_v4().to_string();
        bank_state.payments.insert(
            payment_id.clone(),
            SandboxPayment {
                service: service.clone(),
                product: product.clone(),
                body: json.clone(),
                creditor,
                amount,
                instant,
                authorised_at: None,
                decided: blocked.then_some(TransactionStatus::Rjct),
                over_limit: BankState::over_limit(config, &amount),
            },
        );
        let count = bank_state
            .payments_by_request_id
            .entry(request_id.clone())
            .or_insert((0, payment_id.clone()));
        count.0 += 1;
        if !end_to_end_id.is_empty() {
            *bank_state
                .payments_by_end_to_end_id
                .entry(end_to_end_id.clone())
                .or_default() += 1;
        }
        let target = AuthorisationTarget::Payment(payment_id.clone());
        let authorisation_id = bank_state.start_authorisation(target, approach, redirect_target(&headers), now);
        if bank_state.auto_approve {
            bank_state.decide(&authorisation_id, true, now, config);
        }
        let status = bank_state.payments[&payment_id].status(now, config);
        let authorisation = (!bank_state.auto_approve).then_some((authorisation_id.as_str(), approach));
        let mut body = created_body(&base, &service, &product, &payment_id, status, authorisation);
        body["scaStatus"] = json!(bank_state.authorisations[&authorisation_id].sca_status.as_str());
        tracing::info!(
            bank = %bank_state.name,
            %payment_id,
            creditor = %bank_state.payments[&payment_id].creditor.masked(),
            status = status.code(),
            "sandbox payment initiated"
        );
        Ok(created(Some(&location(&payment_id)), Some(approach), body))
    })
}

fn payment<'a>(
    bank_state: &'a mut BankState,
    service: &str,
    product: &str,
    payment_id: &str,
) -> Result<&'a mut SandboxPayment, TppError> {
    check_product(service, product)?;
    bank_state
        .payments
        .get_mut(payment_id)
        .filter(|p| p.service == service && p.product == product)
        .ok_or_else(|| {
            TppError::new(
                StatusCode::FORBIDDEN,
                "RESOURCE_UNKNOWN",
                format!("no payment {payment_id}"),
            )
        })
}

pub(crate) async fn get_payment(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, state| {
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        let mut body = payment.body.clone();
        body["transactionStatus"] = json!(payment.status(state.now(), state.config()).code());
        Ok(Json(body).into_response())
    })
}

pub(crate) async fn status(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, state| {
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        let status = payment.status(state.now(), state.config());
        Ok(Json(json!({ "transactionStatus": status.code() })).into_response())
    })
}

/// Before execution (ACSC) a payment can be cancelled; after, or when already rejected or cancelled, not.
pub(crate) async fn cancel(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let approach = approach(&headers);
    state.with_bank(&bank, |bank_state, state| {
        let now = state.now();
        let config = state.config();
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        let status = payment.status(now, config);
        if status.is_final() {
            return Err(TppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "CANCELLATION_INVALID",
                format!("the payment is {status} and can no longer be cancelled"),
            ));
        }
        if !(config.cancellation_requires_sca && payment.authorised_at.is_some()) {
            payment.decided = Some(TransactionStatus::Canc);
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        let target = AuthorisationTarget::Cancellation(payment_id.clone());
        let redirect = redirect_target(&headers)
            .or_else(|| bank_state.first_redirect(&AuthorisationTarget::Payment(payment_id.clone())));
        let authorisation_id = bank_state.start_authorisation(target, approach, redirect, now);
        let path = format!("{service}/{product}/{payment_id}");
        let body = json!({
            "transactionStatus": status.code(),
            "scaStatus": bank_state.authorisations[&authorisation_id].sca_status.as_str(),
            "_links": authorisation_links(
                &base,
                &format!("{path}/cancellation-authorisations"),
                &authorisation_id,
                approach
            ),
        });
        Ok((StatusCode::ACCEPTED, Json(body)).into_response())
    })
}

pub(crate) async fn start_authorisation(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let approach = approach(&headers);
    state.with_bank(&bank, |bank_state, state| {
        let now = state.now();
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        if payment.authorised_at.is_some() || payment.decided.is_some() {
            return Err(TppError::new(
                StatusCode::CONFLICT,
                "STATUS_INVALID",
                "the payment needs no authorisation",
            ));
        }
        let target = AuthorisationTarget::Payment(payment_id.clone());
        let redirect = redirect_target(&headers).or_else(|| bank_state.first_redirect(&target));
        let id = bank_state.start_authorisation(target, approach, redirect, now);
        let path = format!("{service}/{product}/{payment_id}");
        let body = json!({
            "scaStatus": bank_state.authorisations[&id].sca_status.as_str(),
            "authorisationId": id,
            "_links": authorisation_links(&base, &format!("{path}/authorisations"), &id, approach),
        });
        Ok(created(None, Some(approach), body))
    })
}

pub(crate) async fn sca_status(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id, authorisation_id)): Path<(String, String, String, String, String)>,
) -> Answer {
    let target = AuthorisationTarget::Payment(payment_id.clone());
    authorisation_status(
        &state,
        &bank,
        &service,
        &product,
        &payment_id,
        &authorisation_id,
        target,
    )
}

pub(crate) async fn cancellation_sca_status(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id, authorisation_id)): Path<(String, String, String, String, String)>,
) -> Answer {
    let target = AuthorisationTarget::Cancellation(payment_id.clone());
    authorisation_status(
        &state,
        &bank,
        &service,
        &product,
        &payment_id,
        &authorisation_id,
        target,
    )
}

/// The scaStatus of an authorisation of `target` (the payment, or its cancellation).
fn authorisation_status(
    state: &SandboxState,
    bank: &str,
    service: &str,
    product: &str,
    payment_id: &str,
    authorisation_id: &str,
    target: AuthorisationTarget,
) -> Answer {
    state.with_bank(bank, |bank_state, _| {
        payment(bank_state, service, product, payment_id)?;
        let authorisation = bank_state
            .authorisations
            .get(authorisation_id)
            .filter(|a| a.target == target)
            .ok_or_else(|| TppError::new(StatusCode::FORBIDDEN, "RESOURCE_UNKNOWN", "no such authorisation"))?;
        Ok(Json(json!({ "scaStatus": authorisation.sca_status.as_str() })).into_response())
    })
}
