//! The scheduler: work that runs on its own, durably. What is due and when is the `due_work` read model,
//! derived from the log (`consentry_projections::read_models::due_work`); this module claims due rows with a
//! lease, hands each to the capability it belongs to (payments poll and reconcile, consents expire and sync)
//! and records what comes next: done, due again at a moment the domain's policies chose, or due again after a
//! back-off. A worker acts on an aggregate only through a command, so a worker whose lease expired while it
//! worked (a stalled process) loses on the aggregate's version, and its reschedule, no longer its lease, is
//! ignored.
//!
//! `consentry serve` runs [`spawn_scheduler`]; `consentry jobs run KIND` runs one pass; `consentry jobs status`
//! shows the work by kind, how late the oldest is, and the leases held.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use consentry_projections::read_models::due_work::{self, Claimed, KindStatus, LeaseHolder, Settled, WorkKind};
use consentry_projections::read_models::payments::{self, PollTarget};
use consentry_store::Database;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Engine, EngineError};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// The lease's name: unique per process (host and process id by default).
    pub owner: String,
    /// How long a claimed row stays the worker's; another instance takes it over after that.
    pub lease: Duration,
    /// Rows claimed at once.
    pub batch: i64,
    /// Work of a batch done at the same time.
    pub concurrency: usize,
    /// The longest a worker waits without looking, when nothing wakes it.
    pub idle: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            owner: default_owner(),
            lease: Duration::from_secs(60),
            batch: 100,
            concurrency: 32,
            idle: Duration::from_secs(2),
        }
    }
}

/// `host:pid`, so `jobs status` says which process holds a lease.
pub fn default_owner() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "consentry".to_owned());
    format!("{host}:{}", std::process::id())
}

/// What one piece of work came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkOutcome {
    /// Nothing is left to do.
    Done,
    /// Due again at this moment (the schedule's next slot).
    Next(DateTime<Utc>),
    /// It failed; due again at this moment (a back-off), one failed attempt more.
    Retry(DateTime<Utc>),
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pass {
    pub claimed: usize,
    pub done: usize,
    pub rescheduled: usize,
    pub retried: usize,
    /// Work whose lease was lost meanwhile, or whose row the projection dropped (counted among the others too).
    pub lost: usize,
    /// Work that failed on the store, left to its lease's expiry.
    pub failed: usize,
}

/// The scheduler's view for `jobs status` and `/metrics`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsStatus {
    pub now: DateTime<Utc>,
    pub kinds: Vec<KindStatus>,
    pub leases: Vec<LeaseHolder>,
}

impl Engine {
    /// Claims up to `config.batch` rows of `kinds` due now and does them, `config.concurrency` at a time.
    pub async fn run_due_work(&self, kinds: &[WorkKind], config: &SchedulerConfig) -> Result<Pass, EngineError> {
        let now = self.now();
        let lease = chrono::Duration::from_std(config.lease).unwrap_or(chrono::Duration::seconds(60));
        let claimed = due_work::claim(self.database(), kinds, &config.owner, now, now + lease, config.batch).await?;
        let mut pass = Pass {
            claimed: claimed.len(),
            ..Pass::default()
        };
        // The payments to poll, as the read model has them, for the whole batch in one query.
        let polled: Vec<&str> = claimed
            .iter()
            .filter(|work| work.kind == WorkKind::PaymentPoll)
            .map(|work| work.aggregate_id.as_str())
            .collect();
        let targets: HashMap<String, PollTarget> = match polled.is_empty() {
            true => HashMap::new(),
            false => payments::poll_targets(self.database(), &polled)
                .await?
                .into_iter()
                .map(|target| (target.payment.to_string(), target))
                .collect(),
        };
        let targets = &targets;
        let outcomes: Vec<(Claimed, WorkOutcome)> = futures::stream::iter(claimed)
            .map(|work| async move {
                let outcome = match self.work(&work, targets.get(&work.aggregate_id)).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        tracing::warn!(kind = %work.kind, id = %work.aggregate_id, %error, "due work failed");
                        WorkOutcome::Retry(consentry_domain::schedule::backoff(work.attempts + 1, self.now(), None))
                    }
                };
                metrics::counter!("consentry_jobs_total", "kind" => work.kind.as_str(), "outcome" => outcome.label())
                    .increment(1);
                (work, outcome)
            })
            .buffer_unordered(config.concurrency.max(1))
            .collect()
            .await;
        let settled: Vec<Settled> = outcomes
            .iter()
            .map(|(work, outcome)| match outcome {
                WorkOutcome::Done => Settled::Complete(work),
                WorkOutcome::Next(due) => Settled::Reschedule {
                    work,
                    due: *due,
                    attempts: 0,
                },
                WorkOutcome::Retry(due) => Settled::Reschedule {
                    work,
                    due: *due,
                    attempts: work.attempts + 1,
                },
            })
            .collect();
        match due_work::settle(self.database(), &config.owner, &settled).await {
            Ok(kept) => {
                for (_, outcome) in &outcomes {
                    match outcome {
                        WorkOutcome::Done => pass.done += 1,
                        WorkOutcome::Next(_) => pass.rescheduled += 1,
                        WorkOutcome::Retry(_) => pass.retried += 1,
                    }
                }
                pass.lost = outcomes
                    .len()
                    .saturating_sub(usize::try_from(kept).unwrap_or(usize::MAX));
            }
            Err(error) => {
                tracing::warn!(%error, "recording due work's outcomes failed; their leases expire");
                pass.failed = outcomes.len();
            }
        }
        Ok(pass)
    }

    /// Hands a claimed row to the capability it belongs to.
    async fn work(&self, work: &Claimed, target: Option<&PollTarget>) -> Result<WorkOutcome, EngineError> {
        match work.kind {
            WorkKind::PaymentSend => self.resend_due_payment(work).await,
            WorkKind::PaymentAuthorisation => self.follow_due_authorisation(work).await,
            WorkKind::PaymentPoll => self.poll_due_payment(work, target).await,
            WorkKind::PaymentReconcile => self.reconcile_due_payment(work).await,
            WorkKind::ConsentExpiry => self.expire_due_consent(work).await,
            WorkKind::ConsentSync => self.sync_due_consent(work).await,
        }
    }

    /// When `kind` of work on the aggregate `id` is due next, as far as the read models have caught up.
    pub async fn due_at(&self, kind: WorkKind, id: &str) -> Result<Option<DateTime<Utc>>, EngineError> {
        Ok(due_work::due_of(self.database(), kind, id).await?)
    }

    /// The work by kind and the leases held, now.
    pub async fn jobs_status(&self) -> Result<JobsStatus, EngineError> {
        let now = self.now();
        Ok(JobsStatus {
            now,
            kinds: due_work::status(self.database(), now).await?,
            leases: due_work::leases(self.database(), now).await?,
        })
    }
}

impl WorkOutcome {
    fn label(&self) -> &'static str {
        match self {
            WorkOutcome::Done => "done",
            WorkOutcome::Next(_) => "rescheduled",
            WorkOutcome::Retry(_) => "retried",
        }
    }
}

/// Runs the scheduler until the handle is aborted or `stop` turns true: a pass, then (unless the batch was
/// full) a wait until the next row is due, at most `idle`, cut short on PostgreSQL when the projection adds
/// work (LISTEN `consentry_due_work`). On stop the worker hands its leases back.
pub fn spawn_scheduler(
    engine: Arc<Engine>,
    config: SchedulerConfig,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (wake, mut woken) = watch::channel(());
        let listener = match engine.database() {
            Database::Postgres(pool) => Some(tokio::spawn(listen(pool.clone(), wake))),
            Database::Sqlite(_) => None,
        };
        while !*stop.borrow() {
            let full = match engine.run_due_work(&WorkKind::ALL, &config).await {
                Ok(pass) => pass.claimed as i64 >= config.batch,
                Err(error) => {
                    tracing::warn!(%error, "a scheduler pass failed; the next one tries again");
                    false
                }
            };
            if full {
                continue;
            }
            let wait = match due_work::next_due(engine.database(), &WorkKind::ALL).await {
                Ok(Some(next)) => (next - engine.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(config.idle),
                _ => config.idle,
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = woken.changed() => {}
                _ = stop.changed() => {}
            }
        }
        if let Some(listener) = listener {
            listener.abort();
        }
        match due_work::release(engine.database(), &config.owner).await {
            Ok(released) => tracing::info!(released, owner = %config.owner, "scheduler stopped; leases released"),
            Err(error) => tracing::warn!(%error, "releasing the leases failed; they expire on their own"),
        }
    })
}

/// Sets `consentry_due_work{kind}` (rows due now), `consentry_due_work_oldest_seconds{kind}` (how late the
/// oldest of them is) and `consentry_due_work_leased{kind}` (rows claimed by a worker), as `/metrics` is read.
pub(crate) async fn record_gauges(engine: &Engine) {
    let status = match engine.jobs_status().await {
        Ok(status) => status,
        Err(error) => {
            tracing::warn!(%error, "due work unavailable for /metrics");
            return;
        }
    };
    for kind in WorkKind::ALL {
        let row = status.kinds.iter().find(|k| k.kind == kind.as_str());
        let due = row.map_or(0, |k| k.due);
        let late = row
            .and_then(|k| k.oldest_due)
            .map_or(0.0, |oldest| (status.now - oldest).num_milliseconds() as f64 / 1000.0);
        let leased = row.map_or(0, |k| k.leased);
        metrics::gauge!("consentry_due_work", "kind" => kind.as_str()).set(due as f64);
        metrics::gauge!("consentry_due_work_oldest_seconds", "kind" => kind.as_str()).set(late);
        metrics::gauge!("consentry_due_work_leased", "kind" => kind.as_str()).set(leased as f64);
    }
}

/// Wakes the worker whenever the projection schedules work. Ends when the pool closes; a failure is logged and
/// the listener started again, the idle timer covering the gap.
async fn listen(pool: sqlx::PgPool, wake: watch::Sender<()>) {
    loop {
        let listened: Result<std::convert::Infallible, sqlx::Error> = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen("consentry_due_work").await?;
            loop {
                listener.recv().await?;
                wake.send_replace(());
            }
        }
        .await;
        let Err(error) = listened;
        if pool.is_closed() {
            return;
        }
        tracing::warn!(%error, "listening for due work failed; retrying");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
