//! The sandbox's payment-initiation endpoints: initiate, read, status, cancel, and the authorisations of a
//! payment and of its cancellation.
//!
//! - **Authorisation.** With `TPP-Explicit-Authorisation-Preferred: true` on initiation the bank starts no
//!   authorisation itself: the answer's `_links.startAuthorisation` names `.../authorisations`, where the TPP
//!   starts one with a POST (its approach and redirect URIs default to those given at initiation). Without it
//!   (or at a bank whose profile has `implicit_authorisation_only`) the authorisation starts with the payment
//!   and the answer carries `scaRedirect` (redirect approach) and `scaStatus`. With `auto_approve` the payment
//!   is authorised at creation: an authorisation started by the bank is `finalised` at once, and a payment
//!   whose TPP prefers to start it explicitly needs none (`scaStatus` `exempted`).
//! - **Progression.** An authorised payment is RCVD until its bank's acceptance delay has passed, then ACTC
//!   until its execution delay has passed, then ACSC (ACCC at a bank that reports it); one over the funds limit
//!   or in the bank's rejected share turns RJCT at acceptance, one in its pending share PDNG for ever; a payment
//!   to a blocked creditor is RJCT at once (see [`crate::PaymentProfile`]). Time is the sandbox's clock.
//! - **Booking.** An executed payment is a booked debit of its debtor account when that account is one of the
//!   sandbox PSU's at the bank: `transactionId` `B-PAY-{paymentId}`, `endToEndId` (`NOTPROVIDED` without
//!   one), the amount negative, `creditorName`, `creditorAccount.iban`, `remittanceInformationUnstructured`,
//!   and `bookingDate` = `valueDate` = the day of execution; the account's balances include it.
//! - **Cancellation** (DELETE): 204 for a payment not authorised yet (or authorised, when
//!   `cancellation_requires_sca` is off); 202 for an authorised payment not executed yet when it is on, with
//!   `_links.startAuthorisation` to `.../cancellation-authorisations` when the TPP prefers to start it
//!   explicitly, else with the cancellation's authorisation started (`scaRedirect`, `scaStatus`); 405
//!   CANCELLATION_INVALID for a final payment.
//! - **Polls.** Every GET of a payment or of its status is logged with the sandbox clock's time, whatever the
//!   answer (an injected 429 or 500 included), for `/{bank}/admin/counters` (`statusPolls`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::{ScaApproach, ScaStatus};
use consentry_domain::{Iban, Money};
use serde_json::{json, Value};

use super::ais::{approach, authorisation_links, redirect_target, require_request_id};
use super::state::{AuthorisationTarget, BankState, Progression, SandboxPayment};
use super::{created, header, BankProfile, SandboxState, TppError};

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

/// The `_links` of a payment: itself and its status.
fn payment_links(base: &str, path: &str) -> Value {
    json!({
        "self": { "href": format!("{base}/v1/{path}") },
        "status": { "href": format!("{base}/v1/{path}/status") },
    })
}

/// Whether the TPP asked to start authorisations itself (`TPP-Explicit-Authorisation-Preferred: true`) and the
/// bank honours that.
fn explicit_authorisation(headers: &HeaderMap, profile: &BankProfile) -> bool {
    !profile.payments.implicit_authorisation_only
        && header(headers, "TPP-Explicit-Authorisation-Preferred").is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The approach of an authorisation the TPP starts: the one it prefers now, else the one it preferred when it
/// initiated the payment.
fn approach_or(headers: &HeaderMap, initiation: ScaApproach) -> ScaApproach {
    let prefers = |name: &str| header(headers, name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if prefers("TPP-Decoupled-Preferred") {
        ScaApproach::Decoupled
    } else if prefers("TPP-Redirect-Preferred") {
        ScaApproach::Redirect
    } else {
        initiation
    }
}

/// The end-to-end id of an initiation, when it has one (at most 35 characters, as ISO 20022 allows).
fn end_to_end_id_of(body: &Value) -> Result<Option<String>, TppError> {
    match body.get("endToEndIdentification") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if id.is_empty() => Ok(None),
        Some(Value::String(id)) if id.chars().count() <= 35 => Ok(Some(id.clone())),
        Some(_) => Err(TppError::format(
            "endToEndIdentification is text of at most 35 characters",
        )),
    }
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
    let debtor = iban_at(&json, "debtorAccount")?;
    let creditor = iban_at(&json, "creditorAccount")?;
    let amount = money_at(&json, "instructedAmount")?;
    let creditor_name = json
        .get("creditorName")
        .and_then(Value::as_str)
        .ok_or_else(|| TppError::format("creditorName is missing"))?
        .to_owned();
    if product != "cross-border-credit-transfers" && amount.currency().code() != "EUR" {
        return Err(TppError::format("SEPA and instant SEPA transfers are in EUR"));
    }
    let end_to_end_id = end_to_end_id_of(&json)?;
    let remittance = json
        .get("remittanceInformationUnstructured")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let instant = product == "instant-sepa-credit-transfers";
    let approach = approach(&headers);
    let explicit = explicit_authorisation(&headers, &state.profile(&bank));
    let base = state.bank_url(&headers, &bank);
    let path = |id: &str| format!("{service}/{product}/{id}");
    state.with_bank(&bank, |bank_state, state| {
        let config = state.config();
        let now = state.now();
        if config.dedupe_request_ids {
            if let Some((_, first)) = bank_state.payments_by_request_id.get(&request_id) {
                let first = first.clone();
                let status = bank_state.payments[&first].status(now);
                let body = json!({
                    "transactionStatus": status.code(),
                    "paymentId": first,
                    "_links": payment_links(&base, &path(&first)),
                });
                return Ok(created(
                    Some(&format!("{base}/v1/{}", path(&first))),
                    Some(approach),
                    body,
                ));
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
        let key = end_to_end_id.as_deref().unwrap_or(&payment_id);
        let progression = Progression::new(config, &bank, key, instant, BankState::over_limit(config, &amount));
        bank_state.payments.insert(
            payment_id.clone(),
            SandboxPayment {
                service: service.clone(),
                product: product.clone(),
                body: json.to_string().into_boxed_str(),
                creditor,
                creditor_name: creditor_name.clone(),
                amount,
                end_to_end_id: end_to_end_id.clone(),
                remittance: remittance.clone(),
                approach,
                redirect: redirect_target(&headers),
                progression,
                authorised_at: None,
                decided: blocked.then_some(TransactionStatus::Rjct),
                cancellation_requested: false,
                polls: Vec::new(),
            },
        );
        bank_state
            .payments_by_debtor
            .entry(debtor)
            .or_default()
            .push(payment_id.clone());
        bank_state
            .payments_by_request_id
            .entry(request_id.clone())
            .or_insert((0, payment_id.clone()))
            .0 += 1;
        if let Some(id) = &end_to_end_id {
            *bank_state.payments_by_end_to_end_id.entry(id.clone()).or_default() += 1;
        }
        let here = path(&payment_id);
        let mut links = payment_links(&base, &here);
        let mut sca_status = None;
        if blocked {
            // Refused at once: there is nothing to authorise.
        } else if explicit && bank_state.auto_approve {
            if let Some(payment) = bank_state.payments.get_mut(&payment_id) {
                payment.authorised_at = Some(now);
            }
            sca_status = Some(ScaStatus::Exempted);
        } else if explicit {
            links["startAuthorisation"] = json!({ "href": format!("{base}/v1/{here}/authorisations") });
        } else {
            let target = AuthorisationTarget::Payment(payment_id.clone());
            let authorisation_id = bank_state.start_authorisation(target, approach, redirect_target(&headers), now);
            if bank_state.auto_approve {
                bank_state.decide(&authorisation_id, true, now);
            } else {
                let sca_links =
                    authorisation_links(&base, &format!("{here}/authorisations"), &authorisation_id, approach);
                if let (Some(links), Some(sca_links)) = (links.as_object_mut(), sca_links.as_object()) {
                    links.extend(sca_links.clone());
                }
            }
            sca_status = Some(bank_state.authorisations[&authorisation_id].sca_status);
        }
        let status = bank_state.payments[&payment_id].status(now);
        let mut body = json!({ "transactionStatus": status.code(), "paymentId": payment_id, "_links": links });
        if let Some(sca_status) = sca_status {
            body["scaStatus"] = json!(sca_status.as_str());
        }
        tracing::info!(
            bank = %bank_state.name,
            %payment_id,
            creditor = %bank_state.payments[&payment_id].creditor.masked(),
            status = status.code(),
            explicit,
            "sandbox payment initiated"
        );
        Ok(created(Some(&format!("{base}/v1/{here}")), Some(approach), body))
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
        let mut body: Value = serde_json::from_str(&payment.body).unwrap_or_else(|_| json!({}));
        body["transactionStatus"] = json!(payment.status(state.now()).code());
        Ok(Json(body).into_response())
    })
}

pub(crate) async fn status(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, state| {
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        let status = payment.status(state.now());
        Ok(Json(json!({ "transactionStatus": status.code() })).into_response())
    })
}

/// A payment not authorised yet is cancelled at once (204), as is an authorised one not executed yet unless
/// `cancellation_requires_sca` (202: the cancellation needs the user's authorisation, started by the bank or,
/// when the TPP prefers, by the TPP through `startAuthorisation`); a final payment cannot be (405).
pub(crate) async fn cancel(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let explicit = explicit_authorisation(&headers, &state.profile(&bank));
    state.with_bank(&bank, |bank_state, state| {
        let now = state.now();
        let config = state.config();
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        let status = payment.status(now);
        if status.is_final() {
            return Err(TppError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "CANCELLATION_INVALID",
                format!("the payment is {status} and can no longer be cancelled"),
            ));
        }
        if !(config.cancellation_requires_sca && payment.authorised_at.is_some()) {
            payment.decided = Some(TransactionStatus::Canc);
            tracing::info!(bank = %bank_state.name, %payment_id, "sandbox payment cancelled");
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        payment.cancellation_requested = true;
        let path = format!("{service}/{product}/{payment_id}");
        let mut links = payment_links(&base, &path);
        let mut body = json!({ "transactionStatus": status.code() });
        if explicit {
            links["startAuthorisation"] = json!({ "href": format!("{base}/v1/{path}/cancellation-authorisations") });
            body["_links"] = links;
            return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
        }
        let approach = approach_or(&headers, payment.approach);
        let redirect = redirect_target(&headers).or_else(|| payment.redirect.clone());
        let target = AuthorisationTarget::Cancellation(payment_id.clone());
        let authorisation_id = bank_state.start_authorisation(target, approach, redirect, now);
        let sca_links = authorisation_links(
            &base,
            &format!("{path}/cancellation-authorisations"),
            &authorisation_id,
            approach,
        );
        if let (Some(links), Some(sca_links)) = (links.as_object_mut(), sca_links.as_object()) {
            links.extend(sca_links.clone());
        }
        body["scaStatus"] = json!(bank_state.authorisations[&authorisation_id].sca_status.as_str());
        body["_links"] = links;
        Ok((StatusCode::ACCEPTED, Json(body)).into_response())
    })
}

/// `POST .../authorisations`: the TPP starts the payment's authorisation (after a `startAuthorisation` link,
/// or a further one while the payment still waits for it).
pub(crate) async fn start_authorisation(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
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
        let approach = approach_or(&headers, payment.approach);
        let redirect = redirect_target(&headers).or_else(|| payment.redirect.clone());
        let target = AuthorisationTarget::Payment(payment_id.clone());
        let id = bank_state.start_authorisation(target, approach, redirect, now);
        if bank_state.auto_approve {
            bank_state.decide(&id, true, now);
        }
        let path = format!("{service}/{product}/{payment_id}/authorisations");
        Ok(authorisation_started(bank_state, &base, &path, &id, approach))
    })
}

/// `POST .../cancellation-authorisations`: the TPP starts the authorisation of a cancellation the bank answered
/// with 202.
pub(crate) async fn start_cancellation_authorisation(
    State(state): State<Arc<SandboxState>>,
    Path((bank, service, product, payment_id)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    state.with_bank(&bank, |bank_state, state| {
        let now = state.now();
        let payment = payment(bank_state, &service, &product, &payment_id)?;
        if !payment.cancellation_requested || payment.status(now).is_final() {
            return Err(TppError::new(
                StatusCode::CONFLICT,
                "STATUS_INVALID",
                "no cancellation of the payment waits for an authorisation",
            ));
        }
        let approach = approach_or(&headers, payment.approach);
        let redirect = redirect_target(&headers).or_else(|| payment.redirect.clone());
        let target = AuthorisationTarget::Cancellation(payment_id.clone());
        let id = bank_state.start_authorisation(target, approach, redirect, now);
        let path = format!("{service}/{product}/{payment_id}/cancellation-authorisations");
        Ok(authorisation_started(bank_state, &base, &path, &id, approach))
    })
}

/// The 201 of an authorisation started in the collection `authorisations` (a path under `/v1/`).
fn authorisation_started(
    bank_state: &BankState,
    base: &str,
    authorisations: &str,
    id: &str,
    approach: ScaApproach,
) -> Response {
    let body = json!({
        "scaStatus": bank_state.authorisations[id].sca_status.as_str(),
        "authorisationId": id,
        "_links": authorisation_links(base, authorisations, id, approach),
    });
    created(None, Some(approach), body)
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
