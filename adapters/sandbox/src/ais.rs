//! The sandbox's account-information endpoints: consents (create, read, status, delete, authorisations) and
//! accounts, balances and transactions under a consent, with frequencyPerDay enforced per consent, resource and
//! day for reads without the user present.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use consentry_domain::consent::{ConsentStatus, MAX_FREQUENCY_PER_DAY};
use consentry_domain::sca::ScaApproach;
use serde_json::{json, Value};

use super::data::{self, SeededAccount, SeededTransaction};
use super::malformed::{Corrupter, EntryKind};
use super::state::{AccessScope, AuthorisationTarget, BankState, RedirectTarget, SandboxConsent};
use super::{created, header, BankProfile, SandboxState, TppError};

type Answer = Result<Response, TppError>;

pub(crate) fn require_request_id(headers: &HeaderMap) -> Result<String, TppError> {
    let id = header(headers, "X-Request-ID").ok_or_else(|| TppError::format("X-Request-ID header is missing"))?;
    uuid::Uuid::parse_str(id).map_err(|_| TppError::format("X-Request-ID is not a UUID"))?;
    Ok(id.to_owned())
}

/// The SCA approach for a new consent or payment: decoupled when the TPP prefers it, redirect otherwise.
pub(crate) fn approach(headers: &HeaderMap) -> ScaApproach {
    match header(headers, "TPP-Decoupled-Preferred") {
        Some(v) if v.eq_ignore_ascii_case("true") => ScaApproach::Decoupled,
        _ => ScaApproach::Redirect,
    }
}

pub(crate) fn redirect_target(headers: &HeaderMap) -> Option<RedirectTarget> {
    header(headers, "TPP-Redirect-URI").map(|ok| RedirectTarget {
        ok: ok.to_owned(),
        nok: header(headers, "TPP-Nok-Redirect-URI").map(str::to_owned),
    })
}

/// The `_links` of an authorisation: where the user approves (redirect) and where its scaStatus is read.
/// `authorisations` is the collection the authorisation lives in, under `/v1/` (`consents/{id}/authorisations`,
/// `payments/{product}/{id}/cancellation-authorisations`, ...).
pub(crate) fn authorisation_links(
    base: &str,
    authorisations: &str,
    authorisation_id: &str,
    approach: ScaApproach,
) -> Value {
    let mut links = json!({ "scaStatus": { "href": format!("{base}/v1/{authorisations}/{authorisation_id}") } });
    if approach == ScaApproach::Redirect {
        links["scaRedirect"] = json!({ "href": format!("{base}/sca/{authorisation_id}") });
    }
    links
}

struct ConsentBody {
    scope: AccessScope,
    recurring: bool,
    valid_until: NaiveDate,
    frequency_per_day: u8,
}

fn iban_list(access: &Value, key: &str) -> Result<Vec<String>, TppError> {
    let Some(list) = access.get(key) else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| TppError::format(format!("access.{key} must be an array")))?;
    list.iter()
        .map(|r| {
            r.get("iban")
                .and_then(Value::as_str)
                .map(|iban| iban.replace(' ', ""))
                .ok_or_else(|| TppError::format(format!("access.{key} entries need an iban")))
        })
        .collect()
}

fn parse_consent_body(body: &Value) -> Result<ConsentBody, TppError> {
    let access = body
        .get("access")
        .filter(|a| a.is_object())
        .ok_or_else(|| TppError::format("access is missing"))?;
    let all_accounts = |key: &str| access.get(key).and_then(Value::as_str) == Some("allAccounts");
    let scope = if all_accounts("allPsd2") {
        AccessScope::AllAccounts
    } else if all_accounts("availableAccounts") || all_accounts("availableAccountsWithBalance") {
        AccessScope::AccountListOnly
    } else {
        let (accounts, balances, transactions) = (
            iban_list(access, "accounts")?,
            iban_list(access, "balances")?,
            iban_list(access, "transactions")?,
        );
        if accounts.is_empty() && balances.is_empty() && transactions.is_empty() {
            return Err(TppError::format("access names no accounts"));
        }
        AccessScope::Dedicated {
            accounts,
            balances,
            transactions,
        }
    };
    let recurring = body
        .get("recurringIndicator")
        .and_then(Value::as_bool)
        .ok_or_else(|| TppError::format("recurringIndicator must be a boolean"))?;
    let valid_until = body
        .get("validUntil")
        .and_then(Value::as_str)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| TppError::format("validUntil must be a date (YYYY-MM-DD)"))?;
    let frequency = body
        .get("frequencyPerDay")
        .and_then(Value::as_u64)
        .filter(|f| (1..=u64::from(MAX_FREQUENCY_PER_DAY)).contains(f))
        .ok_or_else(|| TppError::format(format!("frequencyPerDay must be 1 to {MAX_FREQUENCY_PER_DAY}")))?;
    if !recurring && frequency != 1 {
        return Err(TppError::format("a one-off consent has frequencyPerDay 1"));
    }
    body.get("combinedServiceIndicator")
        .and_then(Value::as_bool)
        .ok_or_else(|| TppError::format("combinedServiceIndicator must be a boolean"))?;
    Ok(ConsentBody {
        scope,
        recurring,
        valid_until,
        frequency_per_day: frequency as u8,
    })
}

pub(crate) async fn create_consent(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    require_request_id(&headers)?;
    header(&headers, "PSU-IP-Address").ok_or_else(|| TppError::format("PSU-IP-Address header is missing"))?;
    let json: Value = serde_json::from_slice(&body).map_err(|e| TppError::format(format!("body is not JSON: {e}")))?;
    let parsed = parse_consent_body(&json)?;
    let now = state.now();
    if parsed.valid_until < now.date_naive() {
        return Err(TppError::new(
            StatusCode::BAD_REQUEST,
            "PERIOD_INVALID",
            "validUntil is in the past",
        ));
    }
    let approach = approach(&headers);
    let psu = header(&headers, "PSU-ID")
        .unwrap_or(&state.config().default_psu_id)
        .to_owned();
    let base = state.bank_url(&headers, &bank);
    state.with_bank(&bank, |bank_state, _| {
        let consent_id = uuid::Uuid::new_v4().to_string();
        bank_state.consents.insert(
            consent_id.clone(),
            SandboxConsent {
                psu,
                access: json["access"].clone(),
                scope: parsed.scope,
                recurring: parsed.recurring,
                valid_until: parsed.valid_until,
                frequency_per_day: parsed.frequency_per_day,
                status: ConsentStatus::Received,
                last_action_date: now.date_naive(),
            },
        );
        let target = AuthorisationTarget::Consent(consent_id.clone());
        let authorisation_id = bank_state.start_authorisation(target, approach, redirect_target(&headers), now);
        if bank_state.auto_approve {
            bank_state.decide(&authorisation_id, true, now);
        }
        let status = bank_state.consents[&consent_id].status;
        let sca_status = bank_state.authorisations[&authorisation_id].sca_status;
        let path = format!("consents/{consent_id}");
        let mut links = authorisation_links(&base, &format!("{path}/authorisations"), &authorisation_id, approach);
        links["self"] = json!({ "href": format!("{base}/v1/{path}") });
        links["status"] = json!({ "href": format!("{base}/v1/{path}/status") });
        if let (true, Some(links)) = (bank_state.auto_approve, links.as_object_mut()) {
            links.remove("scaRedirect");
        }
        let body = json!({
            "consentStatus": status.as_str(),
            "consentId": consent_id,
            "scaStatus": sca_status.as_str(),
            "_links": links,
        });
        tracing::info!(bank = %bank_state.name, %consent_id, status = status.as_str(), "sandbox consent created");
        Ok(created(Some(&format!("{base}/v1/{path}")), Some(approach), body))
    })
}

fn consent<'a>(bank_state: &'a mut BankState, consent_id: &str) -> Result<&'a mut SandboxConsent, TppError> {
    bank_state.consents.get_mut(consent_id).ok_or_else(|| {
        TppError::new(
            StatusCode::FORBIDDEN,
            "CONSENT_UNKNOWN",
            format!("no consent {consent_id}"),
        )
    })
}

pub(crate) async fn get_consent(
    State(state): State<Arc<SandboxState>>,
    Path((bank, consent_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    state.with_bank(&bank, |bank_state, _| {
        let consent = consent(bank_state, &consent_id)?;
        let body = json!({
            "access": consent.access,
            "recurringIndicator": consent.recurring,
            "validUntil": consent.valid_until.to_string(),
            "frequencyPerDay": consent.frequency_per_day,
            "lastActionDate": consent.last_action_date.to_string(),
            "consentStatus": consent.status.as_str(),
            "_links": { "account": { "href": format!("{base}/v1/accounts") } },
        });
        Ok(Json(body).into_response())
    })
}

pub(crate) async fn consent_status(
    State(state): State<Arc<SandboxState>>,
    Path((bank, consent_id)): Path<(String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, _| {
        let status = consent(bank_state, &consent_id)?.status;
        Ok(Json(json!({ "consentStatus": status.as_str() })).into_response())
    })
}

pub(crate) async fn delete_consent(
    State(state): State<Arc<SandboxState>>,
    Path((bank, consent_id)): Path<(String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, _| {
        let consent = consent(bank_state, &consent_id)?;
        if !consent.status.is_final() {
            consent.status = ConsentStatus::TerminatedByTpp;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

pub(crate) async fn start_authorisation(
    State(state): State<Arc<SandboxState>>,
    Path((bank, consent_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let approach = approach(&headers);
    state.with_bank(&bank, |bank_state, state| {
        let consent = consent(bank_state, &consent_id)?;
        if consent.status != ConsentStatus::Received {
            return Err(TppError::new(
                StatusCode::CONFLICT,
                "STATUS_INVALID",
                format!("consent is {}, nothing to authorise", consent.status),
            ));
        }
        let now = state.now();
        let target = AuthorisationTarget::Consent(consent_id.clone());
        let redirect = redirect_target(&headers).or_else(|| bank_state.first_redirect(&target));
        let id = bank_state.start_authorisation(target, approach, redirect, now);
        if bank_state.auto_approve {
            bank_state.decide(&id, true, now);
        }
        let path = format!("consents/{consent_id}");
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
    Path((bank, consent_id, authorisation_id)): Path<(String, String, String)>,
) -> Answer {
    state.with_bank(&bank, |bank_state, _| {
        consent(bank_state, &consent_id)?;
        let authorisation = bank_state
            .authorisations
            .get(&authorisation_id)
            .filter(|a| a.target == AuthorisationTarget::Consent(consent_id.clone()))
            .ok_or_else(|| TppError::new(StatusCode::FORBIDDEN, "RESOURCE_UNKNOWN", "no such authorisation"))?;
        Ok(Json(json!({ "scaStatus": authorisation.sca_status.as_str() })).into_response())
    })
}

/// Which resource of an account a read touches, for the consent's scope.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resource {
    AccountList,
    Balances,
    Transactions,
}

/// Checks the Consent-ID of an account read, counts the access and returns the consent's PSU and scope, and the
/// share of list entries to serve broken.
/// `continuation` marks a further page of one transaction query, which is the same access.
fn admit(
    bank_state: &mut BankState,
    today: NaiveDate,
    headers: &HeaderMap,
    resource_path: &str,
    continuation: bool,
) -> Result<(String, AccessScope, f64), TppError> {
    let consent_id = header(headers, "Consent-ID").ok_or_else(|| TppError::format("Consent-ID header is missing"))?;
    let consent = consent(bank_state, consent_id)?;
    match consent.status {
        ConsentStatus::Valid => {}
        ConsentStatus::Expired => {
            return Err(TppError::new(
                StatusCode::UNAUTHORIZED,
                "CONSENT_EXPIRED",
                "the consent has expired",
            ))
        }
        other => {
            return Err(TppError::new(
                StatusCode::UNAUTHORIZED,
                "CONSENT_INVALID",
                format!("the consent is {other}"),
            ))
        }
    }
    let unattended = header(headers, "PSU-IP-Address").is_none();
    let frequency = u32::from(consent.frequency_per_day);
    consent.last_action_date = today;
    let (psu, scope) = (consent.psu.clone(), consent.scope.clone());
    let count = bank_state
        .accesses
        .entry((consent_id.to_owned(), resource_path.to_owned(), today))
        .or_default();
    if unattended && !continuation {
        if count.unattended >= frequency {
            return Err(TppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "ACCESS_EXCEEDED",
                format!("{resource_path} was read {frequency} times today without the PSU"),
            ));
        }
        count.unattended += 1;
    }
    count.requests += 1;
    Ok((psu, scope, bank_state.faults.malformed_entry_rate))
}

fn in_scope(scope: &AccessScope, resource: Resource, iban: Option<&str>) -> bool {
    match (scope, resource) {
        (AccessScope::AllAccounts, _) | (AccessScope::AccountListOnly, Resource::AccountList) => true,
        (AccessScope::AccountListOnly, _) => false,
        (
            AccessScope::Dedicated {
                accounts,
                balances,
                transactions,
            },
            _,
        ) => {
            // A consent on dedicated accounts names IBANs, so it never covers an account without one.
            let Some(iban) = iban else {
                return false;
            };
            let listed = |list: &Vec<String>| list.iter().any(|i| i == iban);
            match resource {
                Resource::AccountList => listed(accounts) || listed(balances) || listed(transactions),
                Resource::Balances => listed(balances),
                Resource::Transactions => listed(transactions),
            }
        }
    }
}

fn account_for(
    bank: &str,
    psu: &str,
    profile: &BankProfile,
    scope: &AccessScope,
    account_id: &str,
    resource: Resource,
) -> Result<SeededAccount, TppError> {
    let account = data::accounts(bank, psu, profile)
        .into_iter()
        .find(|a| a.resource_id == account_id)
        .ok_or_else(|| TppError::not_found(format!("no account {account_id}")))?;
    if !in_scope(scope, resource, account.iban.as_ref().map(|i| i.as_str())) {
        return Err(TppError::new(
            StatusCode::UNAUTHORIZED,
            "CONSENT_INVALID",
            "the consent does not cover this",
        ));
    }
    Ok(account)
}

/// The account as balances and transactions name it (`accountReference`): its IBAN, or a card's masked number.
fn account_reference(account: &SeededAccount) -> Value {
    let mut reference = json!({ "currency": account.currency_code() });
    if let Some(iban) = &account.iban {
        reference["iban"] = json!(iban.as_str());
    }
    if let Some(pan) = &account.masked_pan {
        reference["maskedPan"] = json!(pan);
    }
    reference
}

/// The account as the account list and the account read describe it (`accountDetails`), with the links to its
/// balances and transactions when the consent covers them.
fn account_details(account: &SeededAccount, profile: &BankProfile, base: Option<&str>) -> Value {
    let mut entry = account_reference(account);
    entry["resourceId"] = json!(account.resource_id);
    if !profile.sparse {
        entry["name"] = json!(account.name);
        entry["product"] = json!(account.product);
        entry["cashAccountType"] = json!(account.cash_account_type);
        entry["status"] = json!("enabled");
        entry["usage"] = json!("PRIV");
    }
    if let Some(base) = base {
        let path = format!("{base}/v1/accounts/{}", account.resource_id);
        entry["_links"] = json!({
            "balances": { "href": format!("{path}/balances") },
            "transactions": { "href": format!("{path}/transactions") },
        });
    }
    entry
}

fn amount(value: rust_decimal::Decimal, currency: &str) -> Value {
    let mut value = value;
    value.rescale(2);
    json!({ "amount": value.to_string(), "currency": currency })
}

pub(crate) async fn accounts(
    State(state): State<Arc<SandboxState>>,
    Path(bank): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let today = state.now().date_naive();
    let profile = state.profile(&bank);
    state.with_bank(&bank, |bank_state, _| {
        let (psu, scope, rate) = admit(bank_state, today, &headers, "accounts", false)?;
        let listed: Vec<SeededAccount> = data::accounts(&bank, &psu, &profile)
            .into_iter()
            .filter(|a| in_scope(&scope, Resource::AccountList, a.iban.as_ref().map(|i| i.as_str())))
            .collect();
        let links = (scope != AccessScope::AccountListOnly).then_some(base.as_str());
        let mut entries: Vec<Value> = listed.iter().map(|a| account_details(a, &profile, links)).collect();
        let keys: Vec<String> = listed.iter().map(|a| a.resource_id.clone()).collect();
        let mut corrupter = Corrupter::new(&bank, "accounts", rate);
        corrupter.list("accounts", EntryKind::Account, &mut entries, &keys);
        bank_state.malformed_entries.extend(corrupter.into_broken());
        Ok(Json(json!({ "accounts": entries })).into_response())
    })
}

pub(crate) async fn account(
    State(state): State<Arc<SandboxState>>,
    Path((bank, account_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let base = state.bank_url(&headers, &bank);
    let today = state.now().date_naive();
    let profile = state.profile(&bank);
    let resource = format!("accounts/{account_id}");
    let (psu, scope, _) = state.with_bank(&bank, |bank_state, _| {
        admit(bank_state, today, &headers, &resource, false)
    })?;
    let account = account_for(&bank, &psu, &profile, &scope, &account_id, Resource::AccountList)?;
    let links = (scope != AccessScope::AccountListOnly).then_some(base.as_str());
    Ok(Json(json!({ "account": account_details(&account, &profile, links) })).into_response())
}

/// The account's booked (newest first) and pending transactions as of the sandbox's clock: the seeded history
/// with the debits of the payments from this account executed by now.
fn history(
    state: &SandboxState,
    bank: &str,
    psu: &str,
    account: &SeededAccount,
) -> Result<(Vec<SeededTransaction>, Vec<SeededTransaction>), TppError> {
    let now = state.now();
    let (mut booked, pending) = data::transactions(bank, psu, account, now.date_naive());
    if let Some(iban) = &account.iban {
        let payments = state.with_bank(bank, |bank_state, _| Ok(bank_state.bookings(iban, now)))?;
        if !payments.is_empty() {
            booked.extend(payments);
            // Stable: the seeded order stays, and a day's payments follow its seeded entries.
            booked.sort_by_key(|t| std::cmp::Reverse(t.booking_date));
        }
    }
    Ok((booked, pending))
}

/// Records the entries `corrupter` broke in the bank's counters.
fn record(state: &SandboxState, bank: &str, corrupter: Corrupter<'_>) -> Result<(), TppError> {
    let broken = corrupter.into_broken();
    if broken.is_empty() {
        return Ok(());
    }
    tracing::debug!(%bank, broken = broken.len(), "sandbox served malformed entries");
    state.with_bank(bank, |bank_state, _| {
        bank_state.malformed_entries.extend(broken);
        Ok(())
    })
}

pub(crate) async fn balances(
    State(state): State<Arc<SandboxState>>,
    Path((bank, account_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Answer {
    let today = state.now().date_naive();
    let profile = state.profile(&bank);
    let resource = format!("accounts/{account_id}/balances");
    let (psu, scope, rate) = state.with_bank(&bank, |bank_state, _| {
        admit(bank_state, today, &headers, &resource, false)
    })?;
    let account = account_for(&bank, &psu, &profile, &scope, &account_id, Resource::Balances)?;
    let (booked, pending) = history(&state, &bank, &psu, &account)?;
    let yesterday = today.pred_opt().unwrap_or(today);
    let mut balances = Vec::new();
    let mut keys = Vec::new();
    for pocket in &account.pockets {
        let sum = |list: &[SeededTransaction]| -> rust_decimal::Decimal {
            list.iter()
                .filter(|t| t.currency == pocket.currency)
                .map(|t| t.amount)
                .sum()
        };
        let closing = pocket.opening + sum(&booked);
        let expected = closing + sum(&pending);
        let kinds = [
            ("closingBooked", closing, yesterday),
            ("openingBooked", closing, today),
            ("interimBooked", closing, today),
            ("interimAvailable", expected, today),
            ("expected", expected, today),
        ];
        let code = pocket.currency.code();
        for (kind, value, date) in kinds {
            if profile.sparse && !matches!(kind, "closingBooked" | "interimAvailable") {
                continue;
            }
            let mut entry = json!({ "balanceAmount": amount(value, code), "balanceType": kind });
            if !profile.sparse {
                entry["referenceDate"] = json!(date.to_string());
            }
            balances.push(entry);
            keys.push(format!("{kind}-{code}"));
        }
    }
    let mut corrupter = Corrupter::new(&bank, &resource, rate);
    corrupter.list("balances", EntryKind::Balance, &mut balances, &keys);
    record(&state, &bank, corrupter)?;
    let mut body = json!({ "balances": balances });
    if !profile.sparse {
        body["account"] = account_reference(&account);
    }
    Ok(Json(body).into_response())
}

fn transaction_json(t: &SeededTransaction, booked: bool, profile: &BankProfile) -> Value {
    let mut entry = json!({
        "entryReference": t.entry_reference,
        "valueDate": t.value_date.to_string(),
        "transactionAmount": amount(t.amount, t.currency.code()),
    });
    if let Some(remittance) = &t.remittance {
        entry["remittanceInformationUnstructured"] = json!(remittance);
    }
    if let Some(end_to_end_id) = &t.end_to_end_id {
        entry["endToEndId"] = json!(end_to_end_id);
    }
    // Banks that leave fields out tend to have no id for what is not booked yet.
    if booked || !profile.sparse {
        entry["transactionId"] = json!(t.transaction_id);
    }
    if !profile.sparse {
        entry["bankTransactionCode"] = json!(t.bank_transaction_code);
    }
    if let Some(date) = t.booking_date {
        entry["bookingDate"] = json!(date.to_string());
    }
    let (name_key, account_key) = if t.amount.is_sign_negative() {
        ("creditorName", "creditorAccount")
    } else {
        ("debtorName", "debtorAccount")
    };
    entry[name_key] = json!(t.counterparty);
    if let Some(iban) = &t.counterparty_iban {
        entry[account_key] = json!({ "iban": iban.as_str() });
    }
    entry
}

fn date_param(query: &BTreeMap<String, String>, key: &str) -> Result<Option<NaiveDate>, TppError> {
    query
        .get(key)
        .map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| TppError::format(format!("{key} is not a date"))))
        .transpose()
}

/// A non-negative whole number from the query (`pageIndex`, `itemsPerPage`).
fn count_param(query: &BTreeMap<String, String>, key: &str) -> Result<Option<usize>, TppError> {
    query
        .get(key)
        .map(|n| {
            n.parse::<usize>()
                .map_err(|_| TppError::format(format!("{key} is not a whole number")))
        })
        .transpose()
}

pub(crate) async fn transactions(
    State(state): State<Arc<SandboxState>>,
    Path((bank, account_id)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Answer {
    let Query(query) = query.map_err(|e| TppError::format(format!("query: {e}")))?;
    let booking_status = query.get("bookingStatus").map(String::as_str);
    let (want_booked, want_pending) = match booking_status {
        Some("booked") => (true, false),
        Some("pending") => (false, true),
        Some("both") => (true, true),
        _ => return Err(TppError::format("bookingStatus must be booked, pending or both")),
    };
    let today = state.now().date_naive();
    let date_from = date_param(&query, "dateFrom")?.ok_or_else(|| TppError::format("dateFrom is missing"))?;
    let date_to = date_param(&query, "dateTo")?.unwrap_or(today);
    if date_from > date_to {
        return Err(TppError::new(
            StatusCode::BAD_REQUEST,
            "PERIOD_INVALID",
            "dateFrom is after dateTo",
        ));
    }
    let page = count_param(&query, "pageIndex")?.unwrap_or(0);
    let items_per_page = count_param(&query, "itemsPerPage")?;
    if items_per_page == Some(0) {
        return Err(TppError::format("itemsPerPage must be at least 1"));
    }
    let profile = state.profile(&bank);
    let resource = format!("accounts/{account_id}/transactions");
    let (psu, scope, rate) = state.with_bank(&bank, |bank_state, _| {
        admit(bank_state, today, &headers, &resource, page > 0)
    })?;
    let account = account_for(&bank, &psu, &profile, &scope, &account_id, Resource::Transactions)?;
    let (booked, pending) = history(&state, &bank, &psu, &account)?;
    let within = |t: &&SeededTransaction| {
        let date = t.booking_date.unwrap_or(t.value_date);
        date >= date_from && date <= date_to
    };
    let selected: Vec<(bool, &SeededTransaction)> = booked
        .iter()
        .filter(within)
        .filter(|_| want_booked)
        .map(|t| (true, t))
        .chain(
            pending
                .iter()
                .filter(within)
                .filter(|_| want_pending)
                .map(|t| (false, t)),
        )
        .collect();
    let page_size = items_per_page.or(profile.page_size).map(|size| size.max(1));
    let size = page_size.unwrap_or(selected.len()).max(1);
    let slice = selected.iter().skip(page.saturating_mul(size)).take(size);
    let (page_booked, page_pending): (Vec<_>, Vec<_>) = slice.partition(|(is_booked, _)| *is_booked);
    let base = state.bank_url(&headers, &bank);
    let mut corrupter = Corrupter::new(&bank, &resource, rate);
    let mut report = serde_json::Map::new();
    for (list, wanted, entries) in [
        ("booked", want_booked, page_booked),
        ("pending", want_pending, page_pending),
    ] {
        if !wanted {
            continue;
        }
        let mut rendered: Vec<Value> = entries
            .iter()
            .map(|(is_booked, t)| transaction_json(t, *is_booked, &profile))
            .collect();
        let keys: Vec<String> = entries.iter().map(|(_, t)| t.transaction_id.clone()).collect();
        corrupter.list(list, EntryKind::Transaction, &mut rendered, &keys);
        report.insert(list.into(), Value::Array(rendered));
    }
    record(&state, &bank, corrupter)?;
    let mut links = json!({ "account": { "href": format!("{base}/v1/accounts/{account_id}") } });
    if page_size.is_some() && selected.len() > size {
        let last = (selected.len() - 1) / size;
        let mut query_of_page = format!(
            "{base}/v1/accounts/{account_id}/transactions?bookingStatus={}&dateFrom={date_from}",
            booking_status.unwrap_or("both")
        );
        if let Some(to) = query.get("dateTo") {
            query_of_page.push_str(&format!("&dateTo={to}"));
        }
        if let Some(items) = items_per_page {
            query_of_page.push_str(&format!("&itemsPerPage={items}"));
        }
        let href = |index: usize| json!({ "href": format!("{query_of_page}&pageIndex={index}") });
        links["first"] = href(0);
        if page > 0 {
            links["previous"] = href((page - 1).min(last));
        }
        if page < last {
            links["next"] = href(page + 1);
        }
        links["last"] = href(last);
    }
    report.insert("_links".into(), links);
    let body = json!({ "account": account_reference(&account), "transactions": Value::Object(report) });
    Ok(Json(body).into_response())
}
