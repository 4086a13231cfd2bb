//! Connecting a bank through the bank port: a consent with a verified SCA redirect, or the decoupled approach,
//! and reading a consent's status back. Every bank answer becomes a command on the aggregate, so the event log
//! records what the bank said and when.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate};
use consentry_adapters::sca_states::{self, Subject};
use consentry_domain::bank::{BankError, ConsentCreation, RedirectUris, ScaRequest};
use consentry_domain::consent::{BankConsentUse, ConsentAccess, ConsentCommand, ConsentStatus, ExpiryCause, RevokedBy};
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::{ScaApproach, ScaLinks, ScaStatus};
use consentry_domain::{BankId, ConsentId, FieldError, PaymentId, TenantId};
use uuid::Uuid;

use crate::banks::ConnectedBank;
use crate::{ConsentInput, Engine, EngineError, RequestContext};

/// How long a user has to complete the redirect SCA before its `state` is refused.
pub const SCA_STATE_MAX_AGE: Duration = Duration::minutes(30);

/// The longest validity a consent may ask for: 180 days, the period after which PSD2 (RTS on SCA art. 10a, as
/// amended by Delegated Regulation 2022/2360) requires the user to authenticate again.
pub const MAX_VALIDITY_DAYS: i64 = 180;

/// A request to connect a bank for the context's user.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub bank: String,
    /// The user's device address: Berlin Group requires it on consent creation.
    pub psu_ip_address: String,
    pub psu_id: Option<String>,
    pub access: ConsentAccess,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    /// Where the bank sends the user back (`{callback}?state=...`): Consentry's `/callback/sca` route.
    pub callback_url: String,
    /// Overrides the bank's configured approach.
    pub approach: Option<ScaApproach>,
    /// Set when this connection renews an earlier consent.
    pub renewal_of: Option<ConsentId>,
}

/// What a redirect SCA callback confirmed, as the bank reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    Consent(ConsentId, ConsentStatus),
    Payment(PaymentId, Option<TransactionStatus>),
}

/// What the host shows the user next.
#[derive(Debug, Clone)]
pub struct ConnectStarted {
    pub consent: ConsentId,
    pub approach: ScaApproach,
    /// Redirect approach: where to send the user.
    pub sca_redirect: Option<String>,
}

fn unguessable_state() -> String {
    // 244 random bits from two v4 UUIDs.
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

impl Engine {
    /// The configured bank `bank`: its port and preferred SCA approach; an error naming `bankId` otherwise.
    pub fn bank(&self, bank: &BankId) -> Result<&ConnectedBank, EngineError> {
        self.banks.get(bank).ok_or_else(|| {
            EngineError::InvalidInput(FieldError::new("bankId", format!("{bank} is not a configured bank")))
        })
    }

    /// Requests a consent, creates it at the bank, and returns where the user authorises it. With the redirect
    /// approach, the redirect URI carries a single-use `state` bound to this consent.
    pub async fn connect_bank(
        &self,
        ctx: &RequestContext,
        request: ConnectRequest,
    ) -> Result<ConnectStarted, EngineError> {
        let bank_id = BankId::parse(&request.bank)?;
        let bank = self.bank(&bank_id)?.clone();
        // The address goes into a header at the bank: an IP address, nothing else.
        let psu_ip_address = request.psu_ip_address.trim().parse::<IpAddr>().map_err(|_| {
            FieldError::new(
                "psuIpAddress",
                format!("{:?} is not an IP address", request.psu_ip_address),
            )
        })?;
        let latest = self.now().date_naive() + Duration::days(MAX_VALIDITY_DAYS);
        if request.valid_until > latest {
            return Err(FieldError::new(
                "validUntil",
                format!(
                    "{} is more than {MAX_VALIDITY_DAYS} days away; PSD2 allows {latest} at the latest",
                    request.valid_until
                ),
            )
            .into());
        }
        let approach = request.approach.unwrap_or(bank.sca_approach);
        let input = ConsentInput {
            bank: request.bank.clone(),
            access: request.access.clone(),
            recurring_indicator: true,
            valid_until: request.valid_until,
            frequency_per_day: request.frequency_per_day,
            renewal_of: request.renewal_of,
        };
        let consent = self.request_consent(ctx, input).await?;
        let redirect = match approach {
            ScaApproach::Redirect => {
                let subject = (Subject::Consent, consent.to_string());
                Some(self.redirect_uris(ctx, subject, &request.callback_url).await?)
            }
            _ => None,
        };
        let creation = ConsentCreation {
            access: request.access,
            recurring_indicator: true,
            valid_until: request.valid_until,
            frequency_per_day: request.frequency_per_day,
            combined_service_indicator: false,
            sca: ScaRequest {
                psu_ip_address: psu_ip_address.to_string(),
                psu_id: request.psu_id,
                redirect,
                preferred_approach: Some(approach),
            },
        };
        let system = RequestContext::system(ctx.tenant, ctx.user).caused_by(ctx.correlation_id);
        let created = match bank.port.create_consent(&creation).await {
            Ok(created) => created,
            Err(error) => {
                let reason = format!("the bank refused the consent: {error}");
                self.execute_consent(&system, consent, ConsentCommand::Reject { reason })
                    .await?;
                return Err(EngineError::Bank {
                    bank: bank_id,
                    source: error,
                });
            }
        };
        let sca = ScaLinks {
            approach: created.sca.approach.or(Some(approach)),
            ..created.sca
        };
        let record = ConsentCommand::RecordBankConsent {
            bank_consent_id: created.consent_id,
            sca: sca.clone(),
        };
        self.execute_consent(&system, consent, record).await?;
        Ok(ConnectStarted {
            consent,
            approach,
            sca_redirect: sca.redirect_url,
        })
    }

    /// Where the bank sends the user back after a redirect SCA: the shared callback with a single-use `state`,
    /// recorded as bound to `subject` (a consent or a payment, and its id).
    pub(crate) async fn redirect_uris(
        &self,
        ctx: &RequestContext,
        (subject, id): (Subject, String),
        callback_url: &str,
    ) -> Result<RedirectUris, EngineError> {
        let state = unguessable_state();
        sca_states::issue(
            self.database(),
            &state,
            &ctx.tenant.to_string(),
            subject,
            &id,
            self.now(),
        )
        .await?;
        let separator = if callback_url.contains('?') { '&' } else { '?' };
        let ok = format!("{callback_url}{separator}state={state}");
        Ok(RedirectUris {
            nok: Some(format!("{ok}&outcome=nok")),
            ok,
        })
    }

    /// The SCA redirect callback: accepted only with a state this engine issued, unused and recent. The status of
    /// the consent or payment it was bound to is then read back from the bank — the callback alone proves
    /// nothing.
    pub async fn complete_sca_callback(&self, state: &str) -> Result<CallbackOutcome, EngineError> {
        let refused = || EngineError::CallbackRefused("unknown, used or expired state".into());
        if state.is_empty() || state.len() > 128 {
            return Err(refused());
        }
        let Some(bound) = sca_states::consume(self.database(), state, self.now(), SCA_STATE_MAX_AGE).await? else {
            return Err(refused());
        };
        let ctx = RequestContext::system(TenantId::parse(&bound.tenant_id)?, None);
        match bound.subject {
            Subject::Consent => {
                let consent = ConsentId::parse(&bound.id)?;
                let status = self.refresh_consent_status(&ctx, consent).await?;
                Ok(CallbackOutcome::Consent(consent, status))
            }
            Subject::Payment => {
                let payment = PaymentId::parse(&bound.id)?;
                let status = self.poll_payment_status(&ctx, payment).await?;
                Ok(CallbackOutcome::Payment(payment, status))
            }
        }
    }

    /// Decoupled approach: starts the authorisation and polls its scaStatus until the user decided in the bank's
    /// app (or `timeout` passes), then reads the consent's status back.
    pub async fn await_decoupled_authorisation(
        &self,
        ctx: &RequestContext,
        consent: ConsentId,
        poll_every: StdDuration,
        timeout: StdDuration,
    ) -> Result<ConsentStatus, EngineError> {
        let (bank_id, bank_consent_id) = self.bank_consent(consent).await?;
        let port = self.bank(&bank_id)?.port.clone();
        let bank_error = |source| EngineError::Bank {
            bank: bank_id.clone(),
            source,
        };
        let authorisation = port
            .start_consent_authorisation(&bank_consent_id)
            .await
            .map_err(bank_error)?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut sca_status = authorisation.sca_status;
        while !matches!(
            sca_status,
            ScaStatus::Finalised | ScaStatus::Failed | ScaStatus::Exempted
        ) && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(poll_every).await;
            sca_status = port
                .consent_sca_status(&bank_consent_id, &authorisation.authorisation_id)
                .await
                .map_err(bank_error)?;
        }
        self.refresh_consent_status(ctx, consent).await
    }

    async fn bank_consent(&self, consent: ConsentId) -> Result<(BankId, String), EngineError> {
        let state = self.consent(consent).await?.state.ok_or(EngineError::NotFound {
            aggregate: "Consent",
            id: consent.to_string(),
        })?;
        let bank_consent_id = match state.bank_consent_for(BankConsentUse::ReadStatus) {
            Ok(bank_consent) => bank_consent.id.clone(),
            Err(source) => return Err(EngineError::Consent { id: consent, source }),
        };
        Ok((state.request.bank, bank_consent_id))
    }

    /// Reads the consent's status at the bank and records what changed (authorised, rejected, expired, revoked).
    pub async fn refresh_consent_status(
        &self,
        ctx: &RequestContext,
        consent: ConsentId,
    ) -> Result<ConsentStatus, EngineError> {
        let current = self.consent(consent).await?.status();
        let (bank_id, bank_consent_id) = self.bank_consent(consent).await?;
        let port = self.bank(&bank_id)?.port.clone();
        let at_bank = match port.consent_status(&bank_consent_id).await {
            Ok(status) => status,
            Err(BankError::ConsentExpired(_)) => ConsentStatus::Expired,
            Err(source) => return Err(EngineError::Bank { bank: bank_id, source }),
        };
        let command = match (current, at_bank) {
            (Some(now), at_bank) if now == at_bank => None,
            (_, ConsentStatus::Valid) => Some(ConsentCommand::Authorise),
            (_, ConsentStatus::Rejected) => Some(ConsentCommand::Reject {
                reason: "the bank reports rejected".into(),
            }),
            (_, ConsentStatus::Expired) => Some(ConsentCommand::Expire {
                cause: ExpiryCause::BankReportedExpired,
            }),
            (_, ConsentStatus::RevokedByPsu) => Some(ConsentCommand::Revoke { by: RevokedBy::Psu }),
            (_, ConsentStatus::TerminatedByTpp) => Some(ConsentCommand::Revoke { by: RevokedBy::Tpp }),
            (_, ConsentStatus::Received) => None,
        };
        if let Some(command) = command {
            self.execute_consent(ctx, consent, command).await?;
        }
        Ok(self.consent(consent).await?.status().unwrap_or(at_bank))
    }
}
