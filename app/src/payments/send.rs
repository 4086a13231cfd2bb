//! Sending a payment through the bank port so that it can never be sent twice, and reading its status back.
//! Every bank answer becomes a command on the Payment aggregate, so the event log records what the bank said
//! and when.

use consentry_domain::bank::{
    BookingStatus, PaymentInitiation, PsuContext, RedirectUris, ScaRequest, TransactionQuery,
};
use consentry_domain::consent::{BankConsentUse, ConsentCommand};
use consentry_domain::payment::{BankPayment, InitiationPhase, PaymentCommand, TransactionStatus};
use consentry_domain::sca::ScaApproach;
use consentry_domain::PaymentId;

use crate::{Engine, EngineError, RequestContext};

impl Engine {
    /// Sends the payment's initiation: records the attempt first, then the bank's answer. An answer that leaves
    /// the outcome unknown (a timeout, a dropped connection, a 5xx, a 2xx that does not parse) is recorded as
    /// such, with the payment's id when the answer's `Location` named it, after which the aggregate refuses any
    /// new attempt until the outcome is reconciled with the bank — so a payment is never initiated twice by a
    /// blind retry. An attempt known not to have reached the bank (no connection, 429) leaves it ready. The
    /// bank's configured SCA approach is preferred.
    pub async fn send_payment(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
        psu_ip_address: &str,
        redirect: Option<RedirectUris>,
    ) -> Result<Option<TransactionStatus>, EngineError> {
        let bank = self.payment_state(payment).await?.request.bank;
        let approach = self.bank(&bank)?.sca_approach;
        self.send_payment_with(ctx, payment, psu_ip_address, redirect, approach)
            .await
    }

    /// [`Engine::send_payment`] preferring `approach`.
    pub(crate) async fn send_payment_with(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
        psu_ip_address: &str,
        redirect: Option<RedirectUris>,
        approach: ScaApproach,
    ) -> Result<Option<TransactionStatus>, EngineError> {
        self.execute_payment(ctx, payment, PaymentCommand::StartInitiationAttempt)
            .await?;
        let state = self.payment_state(payment).await?;
        let bank_id = state.request.bank.clone();
        let bank = self.bank(&bank_id)?.clone();
        let sca = ScaRequest {
            psu_ip_address: psu_ip_address.to_owned(),
            psu_id: None,
            redirect,
            preferred_approach: Some(approach),
        };
        let initiation = PaymentInitiation::from_request(&state.request, sca);
        let command = match bank.port.initiate_payment(&initiation).await {
            Ok(created) => PaymentCommand::RecordBankPayment(created),
            Err(error) if error.not_sent() => {
                let now = self.now();
                let retry_at = match &error {
                    consentry_domain::bank::BankError::AccessExceeded {
                        retry_after: Some(wait),
                        ..
                    } => wait.not_before(now),
                    _ => consentry_domain::schedule::backoff(state.attempts + 1, now, None),
                };
                PaymentCommand::RecordNotSent {
                    reason: error.to_string(),
                    retry_at,
                    psu_ip_address: psu_ip_address.to_owned(),
                }
            }
            Err(error) if error.outcome_unknown() => PaymentCommand::RecordUnknownOutcome {
                bank_payment_id: error.created_payment_id().map(str::to_owned),
                reason: error.to_string(),
            },
            Err(error) => PaymentCommand::RecordInitiationRejected {
                reason: error.to_string(),
            },
        };
        self.execute_payment(ctx, payment, command).await?;
        Ok(self.payment(payment).await?.status())
    }

    /// Reads the payment's status at the bank and records it when it moved forward.
    pub async fn poll_payment_status(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
    ) -> Result<Option<TransactionStatus>, EngineError> {
        let state = self.payment_state(payment).await?;
        self.observe_payment_status(ctx, payment, &state).await
    }

    /// [`Engine::poll_payment_status`] from a state just loaded: a status seen again is not even offered to the
    /// aggregate (it would store nothing), so a poll that finds nothing new costs one load and one bank call.
    pub(crate) async fn observe_payment_status(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
        state: &consentry_domain::payment::PaymentState,
    ) -> Result<Option<TransactionStatus>, EngineError> {
        let (InitiationPhase::Submitted, Some(payment_id)) = (state.phase, state.bank_payment_id.clone()) else {
            return Ok(state.status);
        };
        if state.status.is_some_and(|s| s.is_final()) {
            return Ok(state.status);
        }
        let bank_id = state.request.bank.clone();
        let port = self.bank(&bank_id)?.port.clone();
        let resource = state.request.resource(payment_id);
        let status = port
            .payment_status(&resource)
            .await
            .map_err(|source| EngineError::Bank { bank: bank_id, source })?;
        if state.status != Some(status) {
            self.execute_payment(ctx, payment, PaymentCommand::ObserveStatus(status))
                .await?;
        }
        Ok(Some(status))
    }
}

/// What reconciling a payment whose initiation outcome was unknown found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciliation {
    /// The bank has the payment: its status was read back and recorded, and the payment goes on.
    Found(TransactionStatus),
    /// The payment's end-to-end id is among the debtor account's transactions: it was sent (booked or pending).
    FoundInAccount { booked: bool },
    /// Nothing names the payment at the bank yet; the host decides (see the payment's facts) or a later
    /// reconciliation looks again.
    Undetermined,
    /// The payment's outcome is not unknown: nothing to reconcile.
    NotNeeded,
}

impl Engine {
    /// Reconciles a payment whose initiation outcome is unknown, without ever sending it again: when the bank's
    /// payment id is known (its answer's `Location` named it), the payment's status is read at the bank and the
    /// payment recorded as found.
    pub async fn reconcile_payment(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
    ) -> Result<Reconciliation, EngineError> {
        let state = self.payment(payment).await?.state.ok_or(EngineError::NotFound {
            aggregate: "Payment",
            id: payment.to_string(),
        })?;
        if state.phase != InitiationPhase::OutcomeUnknown {
            return Ok(Reconciliation::NotNeeded);
        }
        let Some(payment_id) = state.bank_payment_id.clone() else {
            return match self.find_in_debtor_account(&state).await? {
                Some((transaction_id, booked)) => {
                    let found = PaymentCommand::RecordFoundInAccount { transaction_id, booked };
                    self.execute_payment(ctx, payment, found).await?;
                    Ok(Reconciliation::FoundInAccount { booked })
                }
                None => Ok(Reconciliation::Undetermined),
            };
        };
        let bank_id = state.request.bank.clone();
        let port = self.bank(&bank_id)?.port.clone();
        let resource = state.request.resource(payment_id.clone());
        let status = port
            .payment_status(&resource)
            .await
            .map_err(|source| EngineError::Bank { bank: bank_id, source })?;
        let found = BankPayment {
            bank_payment_id: payment_id,
            status,
            sca: state.sca.clone(),
        };
        self.execute_payment(ctx, payment, PaymentCommand::ReconcileOutcome { found: Some(found) })
            .await?;
        Ok(Reconciliation::Found(status))
    }
}

/// How far back reconciliation looks for a payment in the debtor's account.
const RECONCILIATION_LOOKBACK_DAYS: i64 = 7;

impl Engine {
    /// Looks for the payment's end-to-end id among the transactions of its debtor account, through a valid
    /// account-information consent of the same user at the same bank that covers that account. The read is an
    /// unattended access, counted against the consent's frequencyPerDay like any other (over budget, nothing is
    /// read and the next attempt looks again). The transaction's id and whether it is booked, when found.
    async fn find_in_debtor_account(
        &self,
        state: &consentry_domain::payment::PaymentState,
    ) -> Result<Option<(String, bool)>, EngineError> {
        let request = &state.request;
        let end_to_end_id = request.end_to_end_id();
        let ctx = RequestContext::job(request.tenant, Some(request.user));
        for (consent, bank) in self.valid_consents(request.tenant, request.user).await? {
            if bank != request.bank {
                continue;
            }
            let data = self.account_data(consent).await?;
            let Some(account) = data.accounts.iter().find(|a| a.iban.as_ref() == Some(&request.debtor)) else {
                continue;
            };
            let Some(consent_state) = self.consent(consent).await?.state else {
                continue;
            };
            let Ok(bank_consent) = consent_state.bank_consent_for(BankConsentUse::ReadAccountData) else {
                continue;
            };
            let resource = format!("accounts/{}/transactions", account.resource_id);
            let count = ConsentCommand::CountUnattendedAccess {
                resources: vec![resource],
            };
            if let Err(refused) = self.execute_consent(&ctx, consent, count).await {
                tracing::info!(%consent, %refused, "reconciliation cannot read the debtor account now");
                continue;
            }
            let query = TransactionQuery {
                booking_status: BookingStatus::Both,
                date_from: self.now().date_naive() - chrono::Duration::days(RECONCILIATION_LOOKBACK_DAYS),
                date_to: None,
            };
            let port = self.bank(&bank)?.port.clone();
            let report = port
                .transactions(&bank_consent.id, &account.resource_id, &query, &PsuContext::absent())
                .await
                .map_err(|source| EngineError::Bank {
                    bank: bank.clone(),
                    source,
                })?;
            let matching = |t: &&consentry_domain::bank::BankTransaction| {
                t.end_to_end_id.as_deref() == Some(end_to_end_id.as_str())
            };
            let id = |t: &consentry_domain::bank::BankTransaction| {
                t.transaction_id
                    .clone()
                    .or_else(|| t.entry_reference.clone())
                    .unwrap_or_default()
            };
            if let Some(found) = report.booked.iter().find(matching) {
                return Ok(Some((id(found), true)));
            }
            if let Some(found) = report.pending.iter().find(matching) {
                return Ok(Some((id(found), false)));
            }
        }
        Ok(None)
    }
}

/// The host's answer about a payment whose initiation outcome Consentry could not determine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// It was not sent: send it again now, with the same end-to-end id (and idempotency key).
    NotSent,
    /// It was sent: the bank knows it by this payment id; its status is read from the bank from now on.
    Sent { bank_payment_id: String },
}

impl Engine {
    /// Resolves a payment waiting for the host's decision (its initiation outcome unknown, nothing found at the
    /// bank): not sent, it is sent again with the same end-to-end id; sent, its status is read back under the
    /// bank's id the host gives. Refused for a payment whose outcome is known.
    pub async fn resolve_payment(
        &self,
        ctx: &RequestContext,
        payment: PaymentId,
        resolution: Resolution,
        psu_ip_address: &str,
    ) -> Result<Option<TransactionStatus>, EngineError> {
        let state = self.payment_state(payment).await?;
        match resolution {
            Resolution::NotSent => {
                self.execute_payment(ctx, payment, PaymentCommand::ReconcileOutcome { found: None })
                    .await?;
                self.send_payment(ctx, payment, psu_ip_address, None).await
            }
            Resolution::Sent { bank_payment_id } => {
                if state.phase != InitiationPhase::OutcomeUnknown {
                    return Err(EngineError::Payment {
                        id: payment,
                        source: consentry_domain::payment::PaymentError::NotAllowed {
                            command: "ReconcileOutcome(found)",
                            phase: state.phase,
                        },
                    });
                }
                let bank_id = state.request.bank.clone();
                let port = self.bank(&bank_id)?.port.clone();
                let resource = state.request.resource(bank_payment_id.clone());
                let status = port
                    .payment_status(&resource)
                    .await
                    .map_err(|source| EngineError::Bank { bank: bank_id, source })?;
                let found = BankPayment {
                    bank_payment_id,
                    status,
                    sca: state.sca.clone(),
                };
                self.execute_payment(ctx, payment, PaymentCommand::ReconcileOutcome { found: Some(found) })
                    .await?;
                Ok(Some(status))
            }
        }
    }
}
