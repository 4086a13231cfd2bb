//! The sandbox bank: a real HTTP server (axum) speaking Berlin Group NextGenPSD2 1.3.12 for several banks at
//! once, each under `/{bank}/v1/...`. It is how Consentry is tried without bank contracts, what the demo runs
//! against and what the tests talk to. It is a crate of its own so the product's adapters carry no fake bank: it
//! depends on the domain only (for the `Clock` port and the value types), and owns its configuration
//! ([`SandboxConfig`], the `[sandbox]` section of `consentry.toml`, which the app reads and hands over) and the
//! list of banks it serves by default ([`SANDBOX_BANKS`]).
//!
//! - `data`: deterministic accounts, balances and six months of transactions per bank and PSU, shaped by the
//!   bank's [`BankProfile`] (a card account without IBAN, one multicurrency account, ...).
//! - `state`: consents, payments and authorisations, and the rules that move them (SCA, expiry, recurring
//!   consents replacing each other, payment status progression per bank, executed payments booked in the
//!   debtor's account).
//! - `ais` / `pis`: the account-information and payment-initiation endpoints (see `pis` for the payment
//!   lifecycle: explicit or implicit authorisation, cancellation, status progression).
//! - `request_id`: `X-Request-ID` required on every `/v1` request and echoed on every answer.
//! - `sca_page`: the HTML page where the user approves or denies (redirect approach).
//! - `faults`: fault injection and the admin endpoints (`/{bank}/admin/faults`, `/{bank}/admin/counters` with
//!   the payments per end-to-end id and every status poll per payment, `/{bank}/admin/auto-approve`);
//!   `malformed`: the entries it breaks the ways real banks get them wrong.
//!
//! [`Sandbox::start`] runs it in-process on 127.0.0.1 (port 0 for tests); `consentry sandbox --port N` runs it
//! standalone.

mod ais;
mod data;
mod faults;
mod malformed;
mod pis;
mod request_id;
mod sca_page;
mod state;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::uri::Authority;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use consentry_domain::sca::ScaApproach;
use consentry_domain::Clock;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::Faults;

use state::BankState;

/// The port `consentry sandbox` listens on unless told otherwise, and that the default bank list points to.
pub const DEFAULT_SANDBOX_PORT: u16 = 8090;

/// The banks the sandbox serves by default, with their display names.
pub const SANDBOX_BANKS: [(&str, &str); 4] = [
    ("swedbank", "Swedbank"),
    ("seb", "SEB"),
    ("luminor", "Luminor"),
    ("revolut", "Revolut"),
];

/// How the sandbox behaves; `[sandbox]` in `consentry.toml`. Durations are in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// The banks served, each under its own base path.
    pub banks: Vec<String>,
    /// Authorise every consent and payment at creation, as if the user approved at once.
    pub auto_approve: bool,
    /// The PSU of a consent created without a `PSU-ID` header.
    pub default_psu_id: String,
    /// How long a decoupled SCA takes until the user "approves in the app": its scaStatus is `received` for the
    /// first half, `psuAuthenticated` for the second, then `finalised`.
    pub decoupled_delay_ms: u64,
    /// From authorisation to ACTC (funds checked; or RJCT when over `funds_limit`); a bank's
    /// [`PaymentProfile`] may set its own.
    pub accept_after_ms: u64,
    /// From authorisation to ACSC (instant payments settle at acceptance); a bank's [`PaymentProfile`] may set
    /// its own.
    pub settle_after_ms: u64,
    /// Payments above this amount (in whole units of their currency) are rejected for insufficient funds.
    pub funds_limit: u64,
    /// Creditor IBANs the bank refuses to pay.
    pub blocked_creditors: Vec<String>,
    /// Whether a repeated `X-Request-ID` on payment initiation returns the first payment instead of a new one.
    pub dedupe_request_ids: bool,
    /// Whether cancelling an authorised payment that is not executed yet needs the user's SCA (202) instead of
    /// succeeding at once (204). A payment not authorised yet is always cancelled at once, an executed or
    /// otherwise final one never (405 CANCELLATION_INVALID).
    pub cancellation_requires_sca: bool,
    /// Banks that answer errors as `application/problem+json` instead of `tppMessages`.
    pub problem_json_banks: Vec<String>,
    /// Faults injected from the start, per bank.
    pub faults: BTreeMap<String, Faults>,
    /// How each bank differs from the plain one (`[sandbox.profiles.<bank>]`); a bank without a profile has four
    /// IBAN accounts (EUR, USD, GBP, SEK), every optional field, and its transactions in one answer.
    pub profiles: BTreeMap<String, BankProfile>,
}

/// The ways one bank's answers differ from another's, as they do between real banks. Each is allowed by the spec
/// and each trips a client that assumes otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankProfile {
    /// A credit card account in place of the SEK wallet: no IBAN, only a `maskedPan`, `cashAccountType` CARD.
    pub card_account: bool,
    /// The four currency accounts as one multicurrency account: currency `XXX`, its balances and transactions
    /// in EUR, USD, GBP and SEK.
    pub multicurrency: bool,
    /// Transactions per page, the rest behind `_links.next`; none: the whole report in one answer (a TPP's
    /// `itemsPerPage` pages at any bank).
    pub page_size: Option<usize>,
    /// Leaves out what the spec makes optional: account name, product, status and usage, balance dates and all
    /// balances but closingBooked and interimAvailable, bank transaction codes, and the transactionId of pending
    /// transactions (so a TPP has to fall back to its own fingerprint).
    pub sparse: bool,
    /// How the bank moves payments along (`[sandbox.profiles.<bank>.payments]`).
    pub payments: PaymentProfile,
}

/// How one bank moves its payments along once they are authorised, in the sandbox's clock time. Without one,
/// a bank follows the `[sandbox]` delays and executes every payment it does not refuse (funds limit, blocked
/// creditor). Which payments are rejected or stay pending is a property of the payment: seeded by the bank and
/// the payment's end-to-end id (its payment id when it has none), the same payment fares the same in every
/// run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentProfile {
    /// From authorisation to ACTC at this bank; none: `[sandbox] accept_after_ms`.
    pub accept_after_ms: Option<u64>,
    /// From authorisation to execution (ACSC, or ACCC with `reports_accc`) at this bank; none:
    /// `[sandbox] settle_after_ms`. Instant payments are executed at acceptance.
    pub settle_after_ms: Option<u64>,
    /// The share of payments (0 to 1) rejected at acceptance: RCVD, then RJCT.
    pub rejected_share: f64,
    /// The share of payments (0 to 1) that never reach a final status: RCVD, then PDNG for ever (to try a
    /// TPP's polling limit).
    pub pending_share: f64,
    /// Executed payments report ACCC (the creditor's account credited) instead of ACSC.
    pub reports_accc: bool,
    /// Starts the authorisation of every payment itself, ignoring `TPP-Explicit-Authorisation-Preferred`, as
    /// the spec lets a bank without signing baskets do.
    pub implicit_authorisation_only: bool,
}

/// The personalities of the default banks: Swedbank pages, SEB has a card account, Luminor sends the bare
/// minimum, Revolut a multicurrency account.
fn default_profiles() -> BTreeMap<String, BankProfile> {
    [
        (
            "swedbank",
            BankProfile {
                page_size: Some(25),
                ..BankProfile::default()
            },
        ),
        (
            "seb",
            BankProfile {
                card_account: true,
                ..BankProfile::default()
            },
        ),
        (
            "luminor",
            BankProfile {
                sparse: true,
                ..BankProfile::default()
            },
        ),
        (
            "revolut",
            BankProfile {
                multicurrency: true,
                ..BankProfile::default()
            },
        ),
    ]
    .into_iter()
    .map(|(bank, profile)| (bank.to_owned(), profile))
    .collect()
}

/// A creditor the sandbox always blocks, so tests and the demo can show a rejection.
pub const BLOCKED_CREDITOR: &str = "LT601010012345678901";

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            banks: SANDBOX_BANKS.iter().map(|(id, _)| (*id).to_owned()).collect(),
            auto_approve: true,
            default_psu_id: "sandbox-psu".into(),
            decoupled_delay_ms: 2_000,
            accept_after_ms: 1_000,
            settle_after_ms: 3_000,
            funds_limit: 10_000,
            blocked_creditors: vec![BLOCKED_CREDITOR.into()],
            dedupe_request_ids: false,
            cancellation_requires_sca: false,
            problem_json_banks: Vec::new(),
            faults: BTreeMap::new(),
            profiles: default_profiles(),
        }
    }
}

impl SandboxConfig {
    /// The settings that make no sense (a share outside 0 to 1, shares adding up to more than all payments).
    fn check(&self) -> Result<(), SandboxError> {
        if self.banks.is_empty() {
            return Err(SandboxError::Config("no banks configured".into()));
        }
        if let Some(bad) = self.banks.iter().find(|b| consentry_domain::BankId::parse(b).is_err()) {
            return Err(SandboxError::Config(format!(
                "bank name {bad:?} is not a valid bank id"
            )));
        }
        for (bank, profile) in &self.profiles {
            let payments = &profile.payments;
            let shares = [payments.rejected_share, payments.pending_share];
            if shares.iter().any(|s| !(0.0..=1.0).contains(s)) || shares.iter().sum::<f64>() > 1.0 {
                return Err(SandboxError::Config(format!(
                    "profiles.{bank}.payments: rejected_share and pending_share are between 0 and 1, and add up \
                     to at most 1"
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
}

/// Shared by every handler: the configuration, the clock, the address the server listens on and each bank's
/// state behind its own lock. The locks are never held across an `.await`.
pub(crate) struct SandboxState {
    config: SandboxConfig,
    clock: Arc<dyn Clock>,
    addr: SocketAddr,
    banks: HashMap<String, Mutex<BankState>>,
}

impl SandboxState {
    /// Runs `f` on the bank's state after bringing it up to the clock's "now".
    pub(crate) fn with_bank<R>(
        &self,
        bank: &str,
        f: impl FnOnce(&mut BankState, &Self) -> Result<R, TppError>,
    ) -> Result<R, TppError> {
        let slot = self
            .banks
            .get(bank)
            .ok_or_else(|| TppError::not_found(format!("no bank {bank:?} here")))?;
        let mut bank_state = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        bank_state.refresh(self.clock.now(), &self.config);
        f(&mut bank_state, self)
    }

    pub(crate) fn config(&self) -> &SandboxConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The bank's profile; the plain one for a bank configured without.
    pub(crate) fn profile(&self, bank: &str) -> BankProfile {
        self.config.profiles.get(bank).cloned().unwrap_or_default()
    }

    /// The bank's absolute base URL (`http://host:port/{bank}`) as the caller reached it, for `Location` and
    /// `_links`: the authority of the `Host` header when it is a valid one, else the address the server
    /// listens on.
    pub(crate) fn bank_url(&self, headers: &HeaderMap, bank: &str) -> String {
        let authority = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse::<Authority>().ok())
            .map_or_else(|| self.addr.to_string(), |a| a.to_string());
        format!("http://{authority}/{bank}")
    }
}

/// A Berlin Group error answer, rendered as `tppMessages` (the fault layer turns it into problem+json for the
/// banks configured so).
#[derive(Debug)]
pub(crate) struct TppError {
    status: StatusCode,
    code: &'static str,
    text: String,
}

impl TppError {
    pub(crate) fn new(status: StatusCode, code: &'static str, text: impl Into<String>) -> Self {
        Self {
            status,
            code,
            text: text.into(),
        }
    }

    pub(crate) fn format(text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "FORMAT_ERROR", text)
    }

    pub(crate) fn not_found(text: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "RESOURCE_UNKNOWN", text)
    }
}

impl IntoResponse for TppError {
    fn into_response(self) -> Response {
        let body = json!({ "tppMessages": [{ "category": "ERROR", "code": self.code, "text": self.text }] });
        (self.status, Json(body)).into_response()
    }
}

/// A 201 Created: `Location` (absolute) where the spec has it, `ASPSP-SCA-Approach` when the approach is fixed.
pub(crate) fn created(location: Option<&str>, approach: Option<ScaApproach>, body: serde_json::Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    let out = response.headers_mut();
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(l).ok()) {
        out.insert("location", value);
    }
    if let Some(approach) = approach {
        out.insert("aspsp-sca-approach", sca_approach_header(approach));
    }
    response
}

/// `ASPSP-SCA-Approach` as the spec spells it (OAuth counts as REDIRECT).
pub(crate) fn sca_approach_header(approach: ScaApproach) -> HeaderValue {
    HeaderValue::from_static(match approach {
        ScaApproach::Decoupled => "DECOUPLED",
        ScaApproach::Embedded => "EMBEDDED",
        ScaApproach::Redirect | ScaApproach::Oauth => "REDIRECT",
    })
}

/// A header's value, trimmed, when present and not empty.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The wall clock of a sandbox started without one. It repeats the adapters' `SystemClock` because the sandbox
/// does not depend on the adapters crate.
struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The sandbox, ready to start.
pub struct Sandbox;

/// A running sandbox; dropping it (or calling [`SandboxHandle::shutdown`]) stops the server.
pub struct SandboxHandle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`; a bank's base URL is this plus `/{bank}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn bank_url(&self, bank: &str) -> String {
        format!("{}/{bank}", self.base_url())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            if let Err(error) = task.await {
                tracing::warn!(%error, "sandbox task ended abnormally");
            }
        }
    }

    fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; then there is nothing to stop.
            let _ = shutdown.send(());
        }
    }

    /// Serves until the process is interrupted (Ctrl-C), for `consentry sandbox`.
    pub async fn serve_until_interrupted(self) -> Result<(), std::io::Error> {
        tokio::signal::ctrl_c().await?;
        self.shutdown().await;
        Ok(())
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Sandbox {
    /// Starts on 127.0.0.1 with an OS-chosen port and the wall clock.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        Self::start_at(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr` (port 0: any free port) with the wall clock, for `consentry sandbox`.
    pub async fn start_at(config: SandboxConfig, addr: SocketAddr) -> Result<SandboxHandle, SandboxError> {
        Self::start_with_clock(config, Arc::new(WallClock), addr).await
    }

    /// Starts on `addr` with the given clock (the demo's simulated clock moves the seeded data and every delay
    /// measured in clock time).
    pub async fn start_with_clock(
        config: SandboxConfig,
        clock: Arc<dyn Clock>,
        addr: SocketAddr,
    ) -> Result<SandboxHandle, SandboxError> {
        config.check()?;
        let banks = config
            .banks
            .iter()
            .map(|name| {
                let faults = config.faults.get(name).cloned().unwrap_or_default();
                (
                    name.clone(),
                    Mutex::new(BankState::new(name, config.auto_approve, faults)),
                )
            })
            .collect();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { addr, source })?;
        let state = Arc::new(SandboxState {
            config,
            clock,
            addr,
            banks,
        });
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(state);
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A dropped sender means the handle is gone: stop as well.
                    let _ = stopped.await;
                })
                .await;
            if let Err(error) = served {
                tracing::error!(%error, "sandbox server stopped");
            }
        });
        tracing::info!(%addr, "sandbox bank listening");
        Ok(SandboxHandle {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

fn router(state: Arc<SandboxState>) -> Router {
    let api = Router::new()
        .route("/{bank}/v1/consents", post(ais::create_consent))
        .route(
            "/{bank}/v1/consents/{consent_id}",
            get(ais::get_consent).delete(ais::delete_consent),
        )
        .route("/{bank}/v1/consents/{consent_id}/status", get(ais::consent_status))
        .route(
            "/{bank}/v1/consents/{consent_id}/authorisations",
            post(ais::start_authorisation),
        )
        .route(
            "/{bank}/v1/consents/{consent_id}/authorisations/{authorisation_id}",
            get(ais::sca_status),
        )
        .route("/{bank}/v1/accounts", get(ais::accounts))
        .route("/{bank}/v1/accounts/{account_id}", get(ais::account))
        .route("/{bank}/v1/accounts/{account_id}/balances", get(ais::balances))
        .route("/{bank}/v1/accounts/{account_id}/transactions", get(ais::transactions))
        .route("/{bank}/v1/{service}/{product}", post(pis::initiate))
        .route(
            "/{bank}/v1/{service}/{product}/{payment_id}",
            get(pis::get_payment).delete(pis::cancel),
        )
        .route("/{bank}/v1/{service}/{product}/{payment_id}/status", get(pis::status))
        .route(
            "/{bank}/v1/{service}/{product}/{payment_id}/authorisations",
            post(pis::start_authorisation),
        )
        .route(
            "/{bank}/v1/{service}/{product}/{payment_id}/authorisations/{authorisation_id}",
            get(pis::sca_status),
        )
        .route(
            "/{bank}/v1/{service}/{product}/{payment_id}/cancellation-authorisations",
            post(pis::start_cancellation_authorisation),
        )
        .route(
            "/{bank}/v1/{service}/{product}/{payment_id}/cancellation-authorisations/{authorisation_id}",
            get(pis::cancellation_sca_status),
        )
        // Outermost last: the id is echoed on every answer, the injected faults' included; a request without a
        // valid id is refused inside the fault layer, so problem+json banks refuse it their way.
        .layer(axum::middleware::from_fn(request_id::require))
        .layer(axum::middleware::from_fn_with_state(state.clone(), faults::inject))
        .layer(axum::middleware::from_fn(request_id::echo));
    Router::new()
        .merge(api)
        .route(
            "/{bank}/sca/{authorisation_id}",
            get(sca_page::show).post(sca_page::decide),
        )
        .route("/{bank}/admin/faults", get(faults::get_faults).put(faults::put_faults))
        .route("/{bank}/admin/counters", get(faults::counters))
        .route(
            "/{bank}/admin/auto-approve",
            get(faults::get_auto_approve).put(faults::put_auto_approve),
        )
        .route(
            "/{bank}/admin/consents/{consent_id}/revoke",
            post(faults::revoke_by_psu),
        )
        .with_state(state)
}
