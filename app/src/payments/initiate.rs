//! Paying, as the host asks for it: the payment order recorded, its redirect `state` bound to it (redirect SCA),
//! the initiation sent so that it can never be sent twice, and the payment's authorisation started explicitly
//! (Consentry asks banks, with `TPP-Explicit-Authorisation-Preferred`, to start none of their own). The status is
//! then followed by the scheduler; the host is never asked to poll. Cancelling goes through the bank the same way.

use std::net::IpAddr;

use consentry_adapters::sca_states::Subject;
use consentry_domain::bank::{BankError, CancellationOutcome};
use consentry_domain::payment::{InitiationPhase, PaymentCommand, TransactionStatus};
use consentry_domain::sca::{ScaApproach, ScaLinks};
use consentry_domain::{FieldError, PaymentId};

use crate::payments::PaymentInput;
use crate::{Engine, EngineError, RequestContext};

/// A payment to make for the context's user.
#[derive(Debug, Clone)]
pub struct PaymentStart {
    pub order: PaymentInput,
    /// The user's device address: Berlin Group requires it on initiation.
    pub psu_ip_address: String,
    /// Where the bank sends the user back after a redirect SCA: Consentry's `/callback/sca` route.
    pub callback_url: String,
    /// Overrides the bank's configured approach.
    pub approach: Option<ScaApproach>,
}

/// What the host shows the user next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStarted {
    pub payment: PaymentId,
    pub approach: ScaApproach,
    /// The status the bank gave, when it answered.
    pub status: Option<TransactionStatus>,
    /// Where the initiation stands (`outcomeUnknown`: the bank may have it; it is being reconciled).
    pub phase: InitiationPhase,
    /// Redirect approach: the bank's page where the user authorises the payment.
    pub sca_redirect: Option<String>,
}

/// What cancelling a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancellation {
    /// Cancelled (before it was sent, or the bank's 204).
    Cancelled,
    /// The bank wants the user to authorise the cancellation: the link, when the bank gave one.
    AuthorisationRequired { sca: ScaLinks },
}

impl Engine {
    /// Records the payment order, binds a redirect `state` to it, sends the initiation and, when the bank
    /// answers with a link to start it, starts the payment's authorisation. The answer is what the user does
    /// next; the scheduler follows the status from here.
    pub async fn start_payment(
        &self,
        ctx: &RequestContext,
        start: PaymentStart,
    ) -> Result<PaymentStarted, EngineError> {
        let psu_ip_address = start.psu_ip_address.trim().parse::<IpAddr>().map_err(|_| {
            FieldError::new(
                "psuIpAddress",
                format!("{:?} is not an IP address", start.psu_ip_address),
            )
        })?;
        let bank = self.bank(&consentry_domain::BankId::parse(&start.order.bank)?)?.clone();
        let approach = start.approach.unwrap_or(bank.sca_approach);
        let payment = self.request_payment(ctx, start.order).await?;
        let redirect = match approach {
            ScaApproach::Redirect => {
                let subject = (Subject::Payment, payment.to_string());
                Some(self.redirect_uris(ctx, subject, &start.callback_url).await?)
            }
            _ => None,
        };
        self.send_payment_with(ctx, payment, &psu_ip_address.to_string(), redirect, approach)
            .await?;
        let state = self.payment_state(payment).await?;
        if state.phase == InitiationPhase::Submitted
            && !state.status.is_some_and(|s| s.is_final())
            && state.sca.redirect_url.is_none()
            && state.sca.start_authorisation_url.is_some()
        {
            self.start_payment_authorisation(ctx, payment).await?;
        }
        let state = self.payment_state(payment).await?;
        Ok(PaymentStarted {
            payment,
            approach: state.sca.approach.unwrap_or(approach),
            status: state.status,
            phase: state.phase,
            sca_redirect: state.sca.redirect_url,
        })
    }

    /// Starts the payment's authorisation at the bank and records it (its redirect link, or the scaStatus link
    /// the decoupled approach follows).
    async fn start_payment_authorisation(&self, ctx: &RequestContext, payment: PaymentId) -> Result<(), EngineError> {
        let state = self.payment_state(payment).await?;
        let Some(payment_id) = state.bank_payment_id.clone() else {
            return Ok(());
        };
        let bank_id = state.request.bank.clone();
        let port = self.bank(&bank_id)?.port.clone();
        let resource = state.request.resource(payment_id);
        let authorisation = port
            .start_payment_authorisation(&resource)
            .await
            .map_err(|source| EngineError::Bank { bank: bank_id, source })?;
        let record = PaymentCommand::RecordAuthorisation {
            authorisation_id: authorisation.authorisation_id,
            sca: authorisation.sca,
        };
        self.execute_payment(ctx, payment, record).await
    }

    /// Cancels a payment: before it was sent, at once; once the bank has it, by asking the bank (its 204
    /// cancels, its 202 asks the user to authorise the cancellation, its 405 CANCELLATION_INVALID refuses).
    pub async fn cancel_payment(&self, ctx: &RequestContext, payment: PaymentId) -> Result<Cancellation, EngineError> {
        let state = self.payment_state(payment).await?;
        if state.phase == InitiationPhase::Ready {
            self.execute_payment(ctx, payment, PaymentCommand::RequestCancellation)
                .await?;
            return Ok(Cancellation::Cancelled);
        }
        let bank_id = state.request.bank.clone();
        let Some(payment_id) = state.bank_payment_id.clone() else {
            return Err(EngineError::Payment {
                id: payment,
                source: consentry_domain::payment::PaymentError::NotAllowed {
                    command: "RequestCancellation",
                    phase: state.phase,
                },
            });
        };
        if let Some(status) = state.status.filter(|s| s.is_final()) {
            return Err(EngineError::Payment {
                id: payment,
                source: consentry_domain::payment::PaymentError::Final(status),
            });
        }
        let port = self.bank(&bank_id)?.port.clone();
        let resource = state.request.resource(payment_id);
        let outcome = port
            .cancel_payment(&resource)
            .await
            .map_err(|source: BankError| EngineError::Bank { bank: bank_id, source })?;
        if !state.cancellation_requested {
            self.execute_payment(ctx, payment, PaymentCommand::RequestCancellation)
                .await?;
        }
        match outcome {
            CancellationOutcome::Cancelled => {
                self.execute_payment(ctx, payment, PaymentCommand::ObserveStatus(TransactionStatus::Canc))
                    .await?;
                Ok(Cancellation::Cancelled)
            }
            CancellationOutcome::AuthorisationRequired { sca, .. } => Ok(Cancellation::AuthorisationRequired { sca }),
        }
    }

    pub(crate) async fn payment_state(
        &self,
        payment: PaymentId,
    ) -> Result<consentry_domain::payment::PaymentState, EngineError> {
        self.payment(payment).await?.state.ok_or(EngineError::NotFound {
            aggregate: "Payment",
            id: payment.to_string(),
        })
    }
}
