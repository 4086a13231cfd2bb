//! `consentry replay`: rebuilds read models from the first event, atomically, with a progress bar on a terminal
//! and the closing figure on stdout; `--status` prints each projection's checkpoint and lag instead (`--json`:
//! one JSON array). It uses the store `DATABASE_URL` names, the default SQLite file otherwise, like the Engine.

use clap::Args;
use consentry_projections::Projection;
use serde::Serialize;

use super::progress::RebuildBar;
use super::{open_engine, CliResult};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rebuild only this projection (consents, payments, accounts, transactions, spending); all by default.
    #[arg(long)]
    pub projection: Option<String>,
    /// Print each projection's checkpoint, lag and last error instead of rebuilding.
    #[arg(long, conflicts_with = "projection")]
    pub status: bool,
    /// With --status: print the statuses as one JSON array.
    #[arg(long, requires = "status")]
    pub json: bool,
}

/// A projection's status as `--status --json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusLine {
    projection: String,
    transaction_id: i64,
    position: i64,
    events_applied: i64,
    lag: i64,
    failures: i64,
    last_error: Option<String>,
    last_error_at: Option<String>,
    updated_at: String,
}

pub async fn run(args: ReplayArgs) -> CliResult {
    if args.status {
        let engine = open_engine().await?;
        let statuses = engine.projection_status().await?;
        engine.database().close().await;
        if args.json {
            let lines: Vec<StatusLine> = statuses
                .into_iter()
                .map(|s| StatusLine {
                    projection: s.projection,
                    transaction_id: s.transaction_id,
                    position: s.position,
                    events_applied: s.events_applied,
                    lag: s.lag,
                    failures: s.failures,
                    last_error: s.last_error,
                    last_error_at: s.last_error_at,
                    updated_at: s.updated_at,
                })
                .collect();
            println!("{}", serde_json::to_string(&lines)?);
            return Ok(());
        }
        println!(
            "{:<13} {:>22} {:>14} {:>8} {:>8}  last error",
            "projection", "position", "applied", "lag", "failures"
        );
        for status in statuses {
            println!(
                "{:<13} {:>22} {:>14} {:>8} {:>8}  {}",
                status.projection,
                format!("{}/{}", status.transaction_id, status.position),
                status.events_applied,
                status.lag,
                status.failures,
                status.last_error.as_deref().unwrap_or("-"),
            );
        }
        return Ok(());
    }
    let projections = match &args.projection {
        Some(name) => vec![name.parse::<Projection>()?],
        None => Vec::new(),
    };
    let engine = open_engine().await?;
    let started = std::time::Instant::now();
    let bar = RebuildBar::new();
    let events = engine.rebuild_projections(projections, |p| bar.update(p)).await?;
    bar.finish();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "replayed {events} events into {} in {seconds:.2} s: {:.0} events/s",
        args.projection.as_deref().unwrap_or("every projection"),
        events as f64 / seconds.max(1e-9)
    );
    engine.database().close().await;
    Ok(())
}
