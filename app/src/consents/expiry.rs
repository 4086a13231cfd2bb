//! The expiry job: a consent whose validUntil has passed expires by the clock, so none lapses silently while the
//! read models still show it pending or valid. The `consents` read model proposes the candidates (one scan of
//! that table per run: one row per user and bank, so small next to the log); each consent's aggregate decides by
//! the Clock, so a stale row can neither expire a consent early nor twice, and several engine instances may run
//! the job at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use consentry_domain::consent::{ConsentCommand, ExpiryCause};
use consentry_domain::{ConsentId, TenantId, UserId};
use consentry_store::Statement;
use tokio::task::JoinHandle;

use crate::queries::fetch_all;
use crate::{Engine, EngineError, RequestContext};

/// Consents not yet in a final status whose last valid day is before `$1`, oldest first.
const LAPSED: Statement = Statement::each(
    include_str!("../../sql/expiry/lapsed.postgres.sql"),
    include_str!("../../sql/expiry/lapsed.sqlite.sql"),
);

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
        let today: NaiveDate = self.now().date_naive();
        let rows: Vec<(String, String, String)> =
            fetch_all!(self.database(), LAPSED, today).map_err(|e| EngineError::Store(e.to_string()))?;
        let mut run = ExpiryRun::default();
        for (consent, tenant, user) in rows {
            let corrupt = |e: consentry_domain::FieldError| EngineError::Store(format!("consents read model: {e}"));
            let id = ConsentId::parse(&consent).map_err(corrupt)?;
            let ctx = RequestContext::job(TenantId::parse(&tenant).map_err(corrupt)?, UserId::parse(&user).ok());
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
