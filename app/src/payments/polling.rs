//! A payment's due work: its status polled on the guide's schedule until a final status or 24 hours, and an
//! initiation whose outcome is unknown reconciled — both run by the scheduler, never by a blocking loop.

use consentry_domain::bank::{BankError, PaymentResource};
use consentry_domain::payment::{InitiationPhase, PaymentCommand, TransactionStatus};
use consentry_domain::schedule::{backoff, next_status_poll, polling_over, SCA_STATUS_EVERY, SCA_STATUS_FOR};
use consentry_domain::{BankId, PaymentId};
use consentry_projections::read_models::due_work::Claimed;
use consentry_projections::read_models::payments::PollTarget;

use crate::payments::Reconciliation;
use crate::scheduler::WorkOutcome;
use crate::{Engine, EngineError, RequestContext};

/// Attempts after which a payment that never reached the bank waits for the host instead.
const MAX_ATTEMPTS: u32 = 10;

/// How long reconciliation keeps looking for a payment in the debtor's account, and how often.
const RECONCILE_FOR: chrono::Duration = chrono::Duration::days(3);
const RECONCILE_EVERY: chrono::Duration = chrono::Duration::hours(6);

impl Engine {
    /// One status poll of a submitted payment: done at a final status; after 24 hours polling stops and the
    /// payment says so; otherwise due again at the schedule's next slot, or after a back-off (honouring a 429's
    /// `Retry-After`) when the bank failed. A status seen again stores nothing. With the payment as the read
    /// model has it (`target`, read for the whole claimed batch at once), a poll that finds the status unchanged
    /// never loads the aggregate; a changed status is always decided by the aggregate.
    pub(crate) async fn poll_due_payment(
        &self,
        work: &Claimed,
        target: Option<&PollTarget>,
    ) -> Result<WorkOutcome, EngineError> {
        if let Some(outcome) = self.poll_from_read_model(work, target).await? {
            return Ok(outcome);
        }
        let id = PaymentId::parse(&work.aggregate_id)?;
        let Some(state) = self.payment(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        if state.status.is_some_and(|s| s.is_final()) || state.polling_stopped {
            return Ok(WorkOutcome::Done);
        }
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let now = self.now();
        if polling_over(work.since, now) {
            self.execute_payment(&ctx, id, PaymentCommand::StopPolling).await?;
            tracing::warn!(payment = %id, "no final status 24 hours after submission; polling stopped");
            return Ok(WorkOutcome::Done);
        }
        let observed = self.observe_payment_status(&ctx, id, &state).await;
        after_poll(work, now, observed)
    }

    /// The poll of a payment the read model shows submitted, not final, and within its 24 hours: the bank's
    /// status is read and, when unchanged, nothing else is done; `None` when the read model cannot say (the
    /// full path decides).
    async fn poll_from_read_model(
        &self,
        work: &Claimed,
        target: Option<&PollTarget>,
    ) -> Result<Option<WorkOutcome>, EngineError> {
        let now = self.now();
        let Some(target) = target else {
            return Ok(None);
        };
        if target.status.is_some_and(|s| s.is_final()) {
            return Ok(Some(WorkOutcome::Done));
        }
        let (Some(InitiationPhase::Submitted), Some(payment_id), false) = (
            target.phase,
            target.bank_payment_id.clone(),
            polling_over(work.since, now),
        ) else {
            return Ok(None);
        };
        let bank = BankId::parse(&target.bank)?;
        let port = self.bank(&bank)?.port.clone();
        let resource = PaymentResource {
            service: target.service,
            product: target.product,
            payment_id,
        };
        let observed = match port.payment_status(&resource).await {
            Ok(status) if Some(status) == target.status => Ok(Some(status)),
            Ok(status) => {
                let ctx = RequestContext::job(target.tenant, Some(target.user));
                self.execute_payment(&ctx, target.payment, PaymentCommand::ObserveStatus(status))
                    .await
                    .map(|()| Some(status))
            }
            Err(source) => Err(EngineError::Bank { bank, source }),
        };
        after_poll(work, now, observed).map(Some)
    }

    /// The automatic retry of an initiation known not to have reached the bank (no connection, 429): the
    /// same payment, end-to-end id and user's address sent again. Its outcome is recorded like any attempt's;
    /// one that again did not reach the bank schedules the next retry itself (at its back-off or the bank's
    /// `Retry-After`), up to ten attempts.
    pub(crate) async fn resend_due_payment(&self, work: &Claimed) -> Result<WorkOutcome, EngineError> {
        let id = PaymentId::parse(&work.aggregate_id)?;
        let Some(state) = self.payment(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        let (InitiationPhase::Ready, Some(psu_ip_address)) = (state.phase, state.retry_psu_ip_address.clone()) else {
            return Ok(WorkOutcome::Done);
        };
        if state.attempts >= MAX_ATTEMPTS {
            tracing::warn!(payment = %id, attempts = state.attempts, "the payment never reached the bank; it waits for the host");
            return Ok(WorkOutcome::Done);
        }
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let now = self.now();
        match self.send_payment(&ctx, id, &psu_ip_address, None).await {
            Ok(_) => match self.payment_state(id).await?.phase {
                // Not sent again: the new attempt's event schedules the next one; this row waits for it.
                InitiationPhase::Ready => Ok(WorkOutcome::Next(backoff(state.attempts + 1, now, None))),
                _ => Ok(WorkOutcome::Done),
            },
            Err(EngineError::Payment { .. } | EngineError::Conflict { .. }) => {
                Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, None)))
            }
            Err(other) => Err(other),
        }
    }

    /// One read of a decoupled authorisation's scaStatus, as due work rather than a blocking loop: a new
    /// scaStatus is recorded; a final one (the user decided in the bank's app) has the payment's status read at
    /// once and ends the work; otherwise it is read again 2 s later, for at most 10 minutes.
    pub(crate) async fn follow_due_authorisation(&self, work: &Claimed) -> Result<WorkOutcome, EngineError> {
        let id = PaymentId::parse(&work.aggregate_id)?;
        let Some(state) = self.payment(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        let (Some(authorisation_id), Some(payment_id)) =
            (state.authorisation_id.clone(), state.bank_payment_id.clone())
        else {
            return Ok(WorkOutcome::Done);
        };
        if state.status.is_some_and(|s| s.is_final()) || state.sca_status.is_some_and(|s| s.is_final()) {
            return Ok(WorkOutcome::Done);
        }
        let now = self.now();
        if now - work.since > SCA_STATUS_FOR {
            tracing::info!(payment = %id, "no decision in the bank's app within 10 minutes; the status polls go on");
            return Ok(WorkOutcome::Done);
        }
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let port = self.bank(&state.request.bank)?.port.clone();
        let resource = state.request.resource(payment_id);
        let sca_status = match port.payment_sca_status(&resource, &authorisation_id).await {
            Ok(sca_status) => sca_status,
            Err(_) => return Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, None))),
        };
        match self
            .execute_payment(&ctx, id, PaymentCommand::ObserveScaStatus(sca_status))
            .await
        {
            Ok(()) => {}
            Err(EngineError::Payment { .. } | EngineError::Conflict { .. }) => {
                return Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, None)))
            }
            Err(other) => return Err(other),
        }
        if !sca_status.is_final() {
            return Ok(WorkOutcome::Next(now + SCA_STATUS_EVERY));
        }
        if let Err(error) = self.poll_payment_status(&ctx, id).await {
            tracing::info!(payment = %id, %error, "reading the status after the authorisation failed; the polls go on");
        }
        Ok(WorkOutcome::Done)
    }

    /// One reconciliation of an initiation whose outcome is unknown: done when the bank's answer settles it;
    /// when nothing names the payment yet, the payment waits for the host's decision and the work ends.
    pub(crate) async fn reconcile_due_payment(&self, work: &Claimed) -> Result<WorkOutcome, EngineError> {
        let id = PaymentId::parse(&work.aggregate_id)?;
        let Some(state) = self.payment(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let now = self.now();
        match self.reconcile_payment(&ctx, id).await {
            Ok(Reconciliation::Found(_) | Reconciliation::FoundInAccount { .. } | Reconciliation::NotNeeded) => {
                Ok(WorkOutcome::Done)
            }
            // A payment is booked a day or two after it is sent: look again, within the consent's daily budget,
            // for a few days; then the host decides.
            Ok(Reconciliation::Undetermined) if now - work.since < RECONCILE_FOR => {
                Ok(WorkOutcome::Next(now + RECONCILE_EVERY))
            }
            Ok(Reconciliation::Undetermined) => {
                tracing::warn!(payment = %id, "initiation outcome unknown and the payment found nowhere: it needs the host's decision");
                Ok(WorkOutcome::Done)
            }
            Err(EngineError::Bank { .. } | EngineError::Payment { .. } | EngineError::Conflict { .. }) => {
                Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, None)))
            }
            Err(other) => Err(other),
        }
    }
}

/// What a poll's outcome makes of the work: done at a final status, due at the next slot otherwise; after a
/// failure, due again after the back-off (or the bank's `Retry-After`).
fn after_poll(
    work: &Claimed,
    now: chrono::DateTime<chrono::Utc>,
    observed: Result<Option<TransactionStatus>, EngineError>,
) -> Result<WorkOutcome, EngineError> {
    match observed {
        Ok(Some(status)) if status.is_final() => Ok(WorkOutcome::Done),
        Ok(_) => Ok(next_status_poll(work.since, now).map_or(WorkOutcome::Next(now), WorkOutcome::Next)),
        Err(EngineError::Bank { source, .. }) => {
            let retry_after = match &source {
                BankError::AccessExceeded {
                    retry_after: Some(wait),
                    ..
                } => Some(wait.not_before(now)),
                _ => None,
            };
            Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, retry_after)))
        }
        Err(EngineError::Payment { .. } | EngineError::Conflict { .. }) => {
            Ok(WorkOutcome::Retry(backoff(work.attempts + 1, now, None)))
        }
        Err(other) => Err(other),
    }
}
