//! The expiry job: a consent whose validUntil has passed expires by the clock, so none lapses silently while the
//! read models still show it pending or valid. The `consents` read model proposes the candidates (one scan of
//! that table per run: one row per user and bank, so small next to the log); each consent's aggregate decides by
//! the Clock, so a stale row can neither expire a consent early nor twice, and several engine instances may run
//! the job at once.

use std::sync::Arc;
use std::time::Duration;

use consentry_domain::consent::{ConsentCommand, ExpiryCause};
use consentry_domain::ConsentId;
use consentry_projections::read_models::consents::{self, LapsedConsent};
use tokio::task::JoinHandle;

use crate::{Engine, EngineError, RequestContext};

/// What one run of the expiry job did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExpiryRun {
    /// The consents it expired.
    pub expired: Vec<ConsentId>,
    /// Candidates the aggregate declined, with why: changed since the read model saw them (already expired,
    /// revoked, or written concurrently). The next run looks again.
    pub declined: Vec<(ConsentId, String)>,
}

impl Engine {
    /// Expires every consent past its validUntil (today by the engine's Clock) that the `consents` read model
    /// still shows received or valid, each as a job of its own tenant and user. A database error stops the run;
    /// an aggregate's refusal is reported in [`ExpiryRun::declined`]. The read model lags the log by at most a
    /// live batch, so a consent that lapsed in that moment is expired by the next run.
    pub async fn expire_lapsed_consents(&self) -> Result<ExpiryRun, EngineError> {
        let today = self.now().date_naive();
        let mut run = ExpiryRun::default();
        for LapsedConsent {
            consent: id,
            tenant,
            user,
        } in consents::lapsed(self.database(), today).await?
        {
            let ctx = RequestContext::job(tenant, Some(user));
            let expire = ConsentCommand::Expire {
                cause: ExpiryCause::ValidUntilPassed,
            };
            match self.execute_consent(&ctx, id, expire).await {
                Ok(()) => run.expired.push(id),
                Err(declined @ (EngineError::Consent { .. } | EngineError::Conflict { .. })) => {
                    run.declined.push((id, declined.to_string()));
                }
                Err(error) => return Err(error),
            }
        }
        if !run.expired.is_empty() {
            tracing::info!(expired = run.expired.len(), "consents expired by the clock");
        }
        Ok(run)
    }
}

/// Runs [`Engine::expire_lapsed_consents`] at once and then every `every` until the handle is aborted. A failed
/// run is logged and the next one tries again; with the projections following the log, a consent expires
/// within `every` of the end of its last valid day.
pub fn spawn_expiry_job(engine: Arc<Engine>, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match engine.expire_lapsed_consents().await {
                Ok(run) if !run.declined.is_empty() => {
                    tracing::debug!(declined = ?run.declined, "expiry candidates the aggregates declined");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the expiry job failed; the next run tries again"),
            }
        }
    })
}
