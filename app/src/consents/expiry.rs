//! A consent's expiry, as due work: the `due_work` projection schedules it for the start of the day after the
//! consent's validUntil (`consentExpiry`), and the scheduler runs it then, so none lapses silently while the read
//! models still show it pending or valid. The aggregate decides by the Clock, so a stale row can neither expire
//! a consent early nor twice, and several engine instances may share the work.

use consentry_domain::consent::{ConsentCommand, ConsentError, ExpiryCause};
use consentry_domain::ConsentId;
use consentry_projections::read_models::due_work::Claimed;

use crate::scheduler::WorkOutcome;
use crate::{Engine, EngineError, RequestContext};

impl Engine {
    /// A consent's due expiry: expired by the clock once its validUntil has passed (the aggregate decides, so a
    /// stale row can neither expire a consent early nor twice); not yet, due again at the end of its last day;
    /// a consent already final has nothing left to do.
    pub(crate) async fn expire_due_consent(&self, work: &Claimed) -> Result<WorkOutcome, EngineError> {
        let id = ConsentId::parse(&work.aggregate_id)?;
        let Some(state) = self.consent(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let expire = ConsentCommand::Expire {
            cause: ExpiryCause::ValidUntilPassed,
        };
        match self.execute_consent(&ctx, id, expire).await {
            Ok(()) => {
                tracing::info!(consent = %id, "consent expired by the clock");
                Ok(WorkOutcome::Done)
            }
            Err(EngineError::Consent {
                source: ConsentError::NotYetExpired { valid_until, .. },
                ..
            }) => Ok(WorkOutcome::Next(
                (valid_until + chrono::Duration::days(1))
                    .and_time(chrono::NaiveTime::MIN)
                    .and_utc(),
            )),
            Err(EngineError::Consent { .. }) => Ok(WorkOutcome::Done),
            Err(EngineError::Conflict { .. }) => Ok(WorkOutcome::Retry(consentry_domain::schedule::backoff(
                work.attempts + 1,
                self.now(),
                None,
            ))),
            Err(other) => Err(other),
        }
    }
}
