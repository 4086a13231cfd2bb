//! [`BerlinGroupClient`]: the bank port over HTTP, one client per configured bank.

use std::collections::HashSet;
use std::time::Instant;

use async_trait::async_trait;
use consentry_domain::bank::{
    Authorisation, Balance, BankAccount, BankError, BankPort, CancellationOutcome, ConsentCreation, ConsentDetails,
    CreatedConsent, EntryProblem, Listing, PaymentDetails, PaymentInitiation, PaymentResource, PsuContext, ScaRequest,
    TransactionQuery, TransactionReport,
};
use consentry_domain::consent::ConsentStatus;
use consentry_domain::payment::{BankPayment, PaymentService, TransactionStatus};
use consentry_domain::sca::{ScaApproach, ScaStatus};
use consentry_domain::BankId;
use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::errors::bank_error;
use super::{reader, wire};
use crate::config::{BankConfig, ConfigError};

/// The largest body the client reads; a bank sending more is answered with `Malformed`, not an allocation.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A Berlin Group NextGenPSD2 client for one bank.
#[derive(Debug, Clone)]
pub struct BerlinGroupClient {
    http: reqwest::Client,
    bank: BankConfig,
    base: Url,
}

/// A 2xx answer, read in full, with the bank, operation and `X-Request-ID` of the call it answers.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    bank: BankId,
    operation: &'static str,
    request_id: Uuid,
}

impl Answer {
    /// The body as `T`. A 2xx body that does not parse is a warning (bank, operation, request id, where the
    /// parser stopped; never the body, which may hold account numbers) and a metric.
    fn json<T: DeserializeOwned>(&self) -> Result<T, BankError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            let (bank, operation, request_id, status) = (&self.bank, self.operation, self.request_id, self.status);
            tracing::warn!(%bank, operation, %request_id, status, %error, "the bank's answer does not parse");
            metrics::counter!("consentry_bank_errors_total", "bank" => bank.to_string(), "code" => "MALFORMED")
                .increment(1);
            BankError::Malformed(format!("{operation}: {error}"))
        })
    }

    fn sca_approach(&self) -> Option<&str> {
        self.headers.get("ASPSP-SCA-Approach").and_then(|v| v.to_str().ok())
    }
}

/// One outgoing call: the operation name (for logs), method, URL, headers and body.
struct Call<'a> {
    operation: &'static str,
    method: Method,
    url: Url,
    headers: Vec<(&'static str, String)>,
    body: Option<&'a Value>,
    request_id: Uuid,
}

impl<'a> Call<'a> {
    fn new(operation: &'static str, method: Method, url: Url) -> Self {
        Self {
            operation,
            method,
            url,
            headers: Vec::new(),
            body: None,
            request_id: Uuid::new_v4(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn consent(self, consent_id: &str) -> Self {
        self.header("Consent-ID", consent_id)
    }

    fn psu(self, psu: &PsuContext) -> Self {
        match psu.ip_address() {
            Some(ip) => self.header("PSU-IP-Address", ip),
            None => self,
        }
    }

    fn sca(mut self, sca: &ScaRequest) -> Self {
        self = self.header("PSU-IP-Address", sca.psu_ip_address.clone());
        if let Some(psu_id) = &sca.psu_id {
            self = self.header("PSU-ID", psu_id.clone());
        }
        if let Some(redirect) = &sca.redirect {
            self = self.header("TPP-Redirect-URI", redirect.ok.clone());
            if let Some(nok) = &redirect.nok {
                self = self.header("TPP-Nok-Redirect-URI", nok.clone());
            }
        }
        match sca.preferred_approach {
            Some(ScaApproach::Redirect) => self.header("TPP-Redirect-Preferred", "true"),
            Some(ScaApproach::Decoupled) => self.header("TPP-Decoupled-Preferred", "true"),
            _ => self,
        }
    }

    fn body(mut self, body: &'a Value) -> Self {
        self.body = Some(body);
        self
    }
}

impl BerlinGroupClient {
    pub fn new(bank: BankConfig) -> Result<Self, ConfigError> {
        let base = Url::parse(&format!("{}/", bank.base_url.trim_end_matches('/')))
            .map_err(|e| ConfigError::Invalid(format!("bank {}: base_url: {e}", bank.id)))?;
        // No redirect is followed: a 3xx would carry the consent and the user's address to wherever it points.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(bank.timeout())
            .connect_timeout(bank.connect_timeout())
            .build()
            .map_err(|e| ConfigError::Invalid(format!("bank {}: HTTP client: {e}", bank.id)))?;
        Ok(Self { http, bank, base })
    }

    pub fn bank(&self) -> &BankConfig {
        &self.bank
    }

    /// `{base_url}/v1/{path}`; every segment that came from a bank id is percent-encoded by `Url`.
    fn url(&self, segments: &[&str]) -> Result<Url, BankError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| BankError::Transport(format!("bank {}: base_url cannot carry a path", self.bank.id)))?
            .pop_if_empty()
            .push("v1")
            .extend(segments);
        Ok(url)
    }

    /// A link from a bank's `_links`, absolute or relative to the bank's base URL, followed only when it stays
    /// under that base URL (same scheme, host and port, and path prefix): a link elsewhere is refused, so the
    /// consent id and the user's address never leave the bank.
    fn link(&self, href: &str) -> Result<Url, BankError> {
        let url = self
            .base
            .join(href)
            .map_err(|e| BankError::LinkRefused(format!("{href:?} is not a URL: {e}")))?;
        if url.origin() != self.base.origin() || !url.path().starts_with(self.base.path()) {
            return Err(BankError::LinkRefused(format!(
                "{} leads outside the bank's base URL {}",
                without_query(&url),
                without_query(&self.base)
            )));
        }
        Ok(url)
    }

    /// Logs and counts the entries of an answer that were kept out; the body itself is never logged.
    fn report_problems(&self, operation: &'static str, request_id: Uuid, problems: &[EntryProblem]) {
        if problems.is_empty() {
            return;
        }
        let bank = &self.bank.id;
        for problem in problems {
            tracing::warn!(
                %bank,
                operation,
                %request_id,
                resource = %problem.resource,
                entry = %problem.entry,
                field = %problem.field,
                problem = %problem.problem,
                "an entry of the bank's answer does not parse; it is kept out, the others are kept"
            );
        }
        metrics::counter!("consentry_bank_entries_rejected_total", "bank" => bank.to_string(), "operation" => operation)
            .increment(problems.len() as u64);
    }

    fn preferred(&self, sca: &ScaRequest) -> ScaRequest {
        let mut sca = sca.clone();
        if sca.preferred_approach.is_none() {
            sca.preferred_approach = Some(self.bank.sca_approach);
        }
        sca
    }

    async fn exchange(&self, call: Call<'_>) -> Result<Answer, BankError> {
        let started = Instant::now();
        let mut request = self
            .http
            .request(call.method.clone(), call.url)
            .header("X-Request-ID", call.request_id.to_string());
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let outcome = self.read(request, call.operation, call.request_id).await;
        let elapsed = started.elapsed();
        let elapsed_ms = elapsed.as_millis() as u64;
        let (bank, operation, request_id) = (&self.bank.id, call.operation, call.request_id);
        // Labels take configured or fixed values only (bank id, operation, outcome, error code), never ids.
        let bank_label = bank.to_string();
        let outcome_label = match &outcome {
            Ok(answer) => {
                tracing::debug!(%bank, operation, status = answer.status, elapsed_ms, %request_id, "bank call");
                "ok"
            }
            Err(error) => {
                tracing::info!(%bank, operation, elapsed_ms, %request_id, %error, "bank call failed");
                metrics::counter!("consentry_bank_errors_total", "bank" => bank_label.clone(), "code" => error.code())
                    .increment(1);
                "error"
            }
        };
        metrics::counter!("consentry_bank_calls_total", "bank" => bank_label.clone(), "operation" => operation, "outcome" => outcome_label)
            .increment(1);
        metrics::histogram!("consentry_bank_call_duration_seconds", "bank" => bank_label, "operation" => operation)
            .record(elapsed.as_secs_f64());
        outcome
    }

    async fn read(
        &self,
        request: reqwest::RequestBuilder,
        operation: &'static str,
        request_id: Uuid,
    ) -> Result<Answer, BankError> {
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        if response.content_length().is_some_and(|len| len > MAX_BODY_BYTES as u64) {
            return Err(BankError::Malformed(format!("body larger than {MAX_BODY_BYTES} bytes")));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(BankError::Malformed(format!("body larger than {MAX_BODY_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        if (200..300).contains(&status) {
            Ok(Answer {
                status,
                headers,
                body,
                bank: self.bank.id.clone(),
                operation,
                request_id,
            })
        } else if (300..400).contains(&status) {
            let location = headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no Location)");
            Err(BankError::Redirected {
                status,
                location: location.chars().take(200).collect(),
            })
        } else {
            Err(bank_error(status, &headers, &body))
        }
    }

    fn payment_url(&self, payment: &PaymentResource, tail: &[&str]) -> Result<Url, BankError> {
        let mut segments = vec![
            service_segment(payment.service),
            payment.product.as_str(),
            payment.payment_id.as_str(),
        ];
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    async fn authorisation(&self, call: Call<'_>) -> Result<Authorisation, BankError> {
        let empty = Value::Object(Default::default());
        let answer = self.exchange(call.body(&empty)).await?;
        let wire: wire::AuthorisationWire = answer.json()?;
        Ok(Authorisation {
            authorisation_id: wire.authorisation_id,
            sca_status: wire::sca_status(&wire.sca_status)?,
            sca: wire::sca_links(&wire.links, answer.sca_approach()),
        })
    }
}

/// The Berlin Group `payment-service` path segment.
fn service_segment(service: PaymentService) -> &'static str {
    match service {
        PaymentService::Payments => "payments",
        PaymentService::BulkPayments => "bulk-payments",
        PaymentService::PeriodicPayments => "periodic-payments",
    }
}

/// A URL for a message: its query (which may carry ids) left out.
fn without_query(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.to_string()
}

fn transport_error(error: reqwest::Error) -> BankError {
    if error.is_timeout() {
        BankError::Timeout
    } else if error.is_connect() {
        BankError::Unreachable(error.without_url().to_string())
    } else {
        BankError::Transport(error.without_url().to_string())
    }
}

#[async_trait]
impl BankPort for BerlinGroupClient {
    async fn create_consent(&self, request: &ConsentCreation) -> Result<CreatedConsent, BankError> {
        let body = wire::consent_body(request);
        let call = Call::new("createConsent", Method::POST, self.url(&["consents"])?)
            .sca(&self.preferred(&request.sca))
            .body(&body);
        let answer = self.exchange(call).await?;
        let wire: wire::ConsentCreatedWire = answer.json()?;
        Ok(CreatedConsent {
            status: wire::consent_status(&wire.consent_status)?,
            sca: wire::sca_links(&wire.links, answer.sca_approach()),
            consent_id: wire.consent_id,
        })
    }

    async fn get_consent(&self, consent_id: &str) -> Result<ConsentDetails, BankError> {
        let call = Call::new("getConsent", Method::GET, self.url(&["consents", consent_id])?);
        self.exchange(call).await?.json::<wire::ConsentWire>()?.into_domain()
    }

    async fn consent_status(&self, consent_id: &str) -> Result<ConsentStatus, BankError> {
        let call = Call::new(
            "consentStatus",
            Method::GET,
            self.url(&["consents", consent_id, "status"])?,
        );
        let wire: wire::ConsentStatusWire = self.exchange(call).await?.json()?;
        wire::consent_status(&wire.consent_status)
    }

    async fn delete_consent(&self, consent_id: &str) -> Result<(), BankError> {
        let call = Call::new("deleteConsent", Method::DELETE, self.url(&["consents", consent_id])?);
        self.exchange(call).await.map(|_| ())
    }

    async fn start_consent_authorisation(&self, consent_id: &str) -> Result<Authorisation, BankError> {
        let url = self.url(&["consents", consent_id, "authorisations"])?;
        self.authorisation(Call::new("startConsentAuthorisation", Method::POST, url))
            .await
    }

    async fn consent_sca_status(&self, consent_id: &str, authorisation_id: &str) -> Result<ScaStatus, BankError> {
        let url = self.url(&["consents", consent_id, "authorisations", authorisation_id])?;
        let wire: wire::ScaStatusWire = self
            .exchange(Call::new("consentScaStatus", Method::GET, url))
            .await?
            .json()?;
        wire::sca_status(&wire.sca_status)
    }

    async fn accounts(&self, consent_id: &str, psu: &PsuContext) -> Result<Listing<BankAccount>, BankError> {
        let call = Call::new("accounts", Method::GET, self.url(&["accounts"])?)
            .consent(consent_id)
            .psu(psu);
        let answer = self.exchange(call).await?;
        let listing = reader::accounts(&answer.json()?)?;
        self.report_problems("accounts", answer.request_id, &listing.problems);
        Ok(listing)
    }

    async fn balances(
        &self,
        consent_id: &str,
        account_id: &str,
        psu: &PsuContext,
    ) -> Result<Listing<Balance>, BankError> {
        let url = self.url(&["accounts", account_id, "balances"])?;
        let call = Call::new("balances", Method::GET, url).consent(consent_id).psu(psu);
        let answer = self.exchange(call).await?;
        let listing = reader::balances(&format!("accounts/{account_id}/balances"), &answer.json()?)?;
        self.report_problems("balances", answer.request_id, &listing.problems);
        Ok(listing)
    }

    async fn transactions(
        &self,
        consent_id: &str,
        account_id: &str,
        query: &TransactionQuery,
        psu: &PsuContext,
    ) -> Result<TransactionReport, BankError> {
        let mut url = self.url(&["accounts", account_id, "transactions"])?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("bookingStatus", query.booking_status.as_str());
            pairs.append_pair("dateFrom", &query.date_from.to_string());
            if let Some(date_to) = query.date_to {
                pairs.append_pair("dateTo", &date_to.to_string());
            }
        }
        // The listing as a whole has a deadline and budgets of pages and bytes, and never reads a page twice:
        // a bank whose `next` links loop or never end gets a clear error, not a sync that holds forever.
        let resource = format!("accounts/{account_id}/transactions");
        let deadline = Instant::now() + self.bank.listing_timeout();
        let mut seen = HashSet::new();
        let mut bytes = 0usize;
        let mut report = TransactionReport::default();
        loop {
            if report.pages == self.bank.max_pages {
                return Err(BankError::OverBudget(format!(
                    "{resource}: more than {} pages",
                    self.bank.max_pages
                )));
            }
            if !seen.insert(url.to_string()) {
                return Err(BankError::LinkRefused(format!(
                    "{resource}: the `next` link of page {} leads back to a page already read",
                    report.pages
                )));
            }
            let call = Call::new("transactions", Method::GET, url).consent(consent_id).psu(psu);
            let left = deadline.saturating_duration_since(Instant::now());
            let answer = tokio::time::timeout(left, self.exchange(call)).await.map_err(|_| {
                BankError::OverBudget(format!(
                    "{resource}: not listed within {} ms ({} pages read)",
                    self.bank.listing_timeout_ms, report.pages
                ))
            })??;
            bytes += answer.body.len();
            if bytes > self.bank.max_listing_bytes {
                return Err(BankError::OverBudget(format!(
                    "{resource}: more than {} bytes over {} pages",
                    self.bank.max_listing_bytes,
                    report.pages + 1
                )));
            }
            let page = reader::transactions_page(&resource, &answer.json()?)?;
            report.pages += 1;
            let problems: Vec<EntryProblem> = page.booked.problems.into_iter().chain(page.pending.problems).collect();
            self.report_problems("transactions", answer.request_id, &problems);
            report.problems.extend(problems);
            report.booked.extend(page.booked.entries);
            report.pending.extend(page.pending.entries);
            match page.next {
                Some(href) => url = self.link(&href)?,
                None => return Ok(report),
            }
        }
    }

    async fn initiate_payment(&self, request: &PaymentInitiation) -> Result<BankPayment, BankError> {
        let body = wire::payment_body(request);
        let url = self.url(&[service_segment(request.service), request.product.as_str()])?;
        tracing::info!(
            bank = %self.bank.id,
            debtor = %request.debtor.masked(),
            creditor = %request.creditor.masked(),
            amount = %request.instructed_amount,
            request_id = %request.request_id,
            "initiating payment"
        );
        // The bank starts no authorisation Consentry did not ask for: it is started explicitly, once.
        let mut call = Call::new("initiatePayment", Method::POST, url)
            .sca(&self.preferred(&request.sca))
            .header("TPP-Explicit-Authorisation-Preferred", "true")
            .body(&body);
        call.request_id = request.request_id;
        let answer = self.exchange(call).await?;
        let wire: wire::PaymentCreatedWire = match answer.json() {
            Ok(wire) => wire,
            // The payment exists when the answer names it: its id comes from `Location`, and the outcome is
            // unknown rather than a refusal, so the payment is reconciled, never paid again.
            Err(unreadable) => {
                let named = answer
                    .headers
                    .get(reqwest::header::LOCATION)
                    .and_then(|location| location.to_str().ok())
                    .and_then(|location| location.trim_end_matches('/').rsplit('/').next())
                    .filter(|id| !id.is_empty());
                return Err(match named {
                    Some(payment_id) => BankError::CreatedUnreadable {
                        payment_id: payment_id.to_owned(),
                        why: unreadable.to_string(),
                    },
                    None => unreadable,
                });
            }
        };
        Ok(BankPayment {
            status: wire::transaction_status(&wire.transaction_status)?,
            sca: wire::sca_links(&wire.links, answer.sca_approach()),
            bank_payment_id: wire.payment_id,
        })
    }

    async fn get_payment(&self, payment: &PaymentResource) -> Result<PaymentDetails, BankError> {
        let call = Call::new("getPayment", Method::GET, self.payment_url(payment, &[])?);
        self.exchange(call).await?.json::<wire::PaymentWire>()?.into_domain()
    }

    async fn payment_status(&self, payment: &PaymentResource) -> Result<TransactionStatus, BankError> {
        let call = Call::new("paymentStatus", Method::GET, self.payment_url(payment, &["status"])?);
        let wire: wire::PaymentStatusWire = self.exchange(call).await?.json()?;
        wire::transaction_status(&wire.transaction_status)
    }

    async fn cancel_payment(&self, payment: &PaymentResource) -> Result<CancellationOutcome, BankError> {
        let call = Call::new("cancelPayment", Method::DELETE, self.payment_url(payment, &[])?);
        let answer = self.exchange(call).await?;
        if answer.status == 204 {
            return Ok(CancellationOutcome::Cancelled);
        }
        let wire: wire::CancellationWire = answer.json()?;
        Ok(CancellationOutcome::AuthorisationRequired {
            status: wire::transaction_status(&wire.transaction_status)?,
            sca: wire::sca_links(&wire.links, answer.sca_approach()),
        })
    }

    async fn start_payment_authorisation(&self, payment: &PaymentResource) -> Result<Authorisation, BankError> {
        let url = self.payment_url(payment, &["authorisations"])?;
        self.authorisation(Call::new("startPaymentAuthorisation", Method::POST, url))
            .await
    }

    async fn payment_sca_status(
        &self,
        payment: &PaymentResource,
        authorisation_id: &str,
    ) -> Result<ScaStatus, BankError> {
        let url = self.payment_url(payment, &["authorisations", authorisation_id])?;
        let wire: wire::ScaStatusWire = self
            .exchange(Call::new("paymentScaStatus", Method::GET, url))
            .await?
            .json()?;
        wire::sca_status(&wire.sca_status)
    }
}
