//! A payment's due work: its status polled on the guide's schedule until a final status or 24 hours, and an
//! initiation whose outcome is unknown reconciled — both run by the scheduler, never by a blocking loop.

use consentry_domain::payment::PaymentCommand;
use consentry_domain::schedule::{backoff, next_status_poll, polling_over};
use consentry_domain::PaymentId;
use consentry_projections::read_models::due_work::Claimed;

use crate::payments::Reconciliation;
use crate::scheduler::WorkOutcome;
use crate::{Engine, EngineError, RequestContext};

/// How long reconciliation keeps looking for a payment in the debtor's account, and how often.
const RECONCILE_FOR: chrono::Duration = chrono::Duration::days(3);
const RECONCILE_EVERY: chrono::Duration = chrono::Duration::hours(6);

impl Engine {
    /// One status poll of a submitted payment: done at a final status; after 24 hours polling stops and the
    /// payment says so; otherwise due again at the schedule's next slot, or after a back-off (honouring a 429's
    /// `Retry-After`) when the bank failed. A status seen again stores nothing.
    pub(crate) async fn poll_due_payment(&self, work: &Claimed) -> Result<WorkOutcome, EngineError> {
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
        match self.observe_payment_status(&ctx, id, &state).await {
            Ok(Some(status)) if status.is_final() => Ok(WorkOutcome::Done),
            Ok(_) => Ok(next_status_poll(work.since, now).map_or(WorkOutcome::Next(now), WorkOutcome::Next)),
            Err(EngineError::Bank { source, .. }) => {
                let retry_after = match &source {
                    consentry_domain::bank::BankError::AccessExceeded {
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
