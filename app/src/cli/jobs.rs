//! `consentry jobs status|run`: the scheduler's due work on the store `DATABASE_URL` names, its read model
//! brought up to date with the log first. `status` shows the work by kind (how much, how much is due, how late the oldest is, how much is leased) and who holds leases;
//! `run KIND` brings the read models up to date and runs one pass of that kind now, with the banks of
//! `consentry.toml`. `--json` prints one JSON document for scripts.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use consentry::banks::Banks;
use consentry::config::ConsentryConfig;
use consentry::scheduler::SchedulerConfig;
use consentry::{Engine, EngineError};
use consentry_adapters::SystemClock;
use consentry_projections::read_models::due_work::WorkKind;
use consentry_projections::Projection;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The due work by kind, how late the oldest is, and the leases held.
    Status {
        /// Print `{now, kinds: [{kind, total, due, oldestDue, leased}], leases: [{owner, held, until}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Runs one pass of one kind of work now: paymentPoll, paymentReconcile, consentExpiry or consentSync.
    Run {
        kind: WorkKind,
        #[arg(long, default_value = "consentry.toml")]
        config: PathBuf,
        /// Print the pass as `{claimed, done, rescheduled, retried, lost, failed}`.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: JobsCommand) -> CliResult {
    match command {
        JobsCommand::Status { json } => {
            let engine = super::open_engine().await?;
            engine
                .projection_runner()
                .with_projections(vec![Projection::DUE_WORK])
                .catch_up()
                .await
                .map_err(EngineError::from)?;
            let status = engine.jobs_status().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
                return Ok(());
            }
            println!(
                "{:<18} {:>8} {:>8} {:>12} {:>8}",
                "kind", "total", "due", "oldest late", "leased"
            );
            for kind in &status.kinds {
                let late = kind
                    .oldest_due
                    .map(|due| format!("{}s", (status.now - due).num_seconds()))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<18} {:>8} {:>8} {:>12} {:>8}",
                    kind.kind, kind.total, kind.due, late, kind.leased
                );
            }
            if status.kinds.is_empty() {
                println!("(no work scheduled)");
            }
            for lease in &status.leases {
                println!(
                    "lease: {} holds {} until {}",
                    lease.owner,
                    lease.held,
                    lease.until.to_rfc3339()
                );
            }
            Ok(())
        }
        JobsCommand::Run { kind, config, json } => {
            let config = ConsentryConfig::load(&config)?;
            let database_url = std::env::var("DATABASE_URL").ok();
            let engine = Engine::open(database_url.as_deref(), Arc::new(SystemClock))
                .await?
                .with_banks(Banks::from_config(&config.banks)?);
            engine.projection_runner().catch_up().await.map_err(EngineError::from)?;
            let pass = engine.run_due_work(&[kind], &SchedulerConfig::default()).await?;
            if json {
                println!("{}", serde_json::to_string(&pass)?);
            } else {
                println!(
                    "{kind}: {} claimed, {} done, {} rescheduled, {} retried, {} lost, {} failed",
                    pass.claimed, pass.done, pass.rescheduled, pass.retried, pass.lost, pass.failed
                );
            }
            Ok(())
        }
    }
}
