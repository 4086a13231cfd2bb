//! `consentry replay`: rebuilds read models from the first event, atomically, with a progress bar on stderr and
//! the closing figure on stdout; `--status` prints each projection's checkpoint and lag instead. It uses the
//! store `DATABASE_URL` names, the default SQLite file otherwise, like the Engine.

use std::io::Write as _;

use clap::Args;
use consentry_projections::{Projection, RebuildProgress};

use super::{open_engine, CliResult};

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rebuild only this projection (consents, payments, accounts, transactions, spending); all by default.
    #[arg(long)]
    pub projection: Option<String>,
    /// Print each projection's checkpoint, lag and last error instead of rebuilding.
    #[arg(long, conflicts_with = "projection")]
    pub status: bool,
}

/// A one-line progress bar on stderr, redrawn in place.
pub fn draw_progress(progress: RebuildProgress) {
    const WIDTH: u64 = 30;
    let total = progress.events_total.max(1);
    let done = progress.events_done.min(total);
    let filled = (done * WIDTH / total) as usize;
    let rate = progress.events_done as f64 / progress.elapsed.as_secs_f64().max(1e-9);
    eprint!(
        "\r[{}{}] {:>3}% {}/{} events, {:.0} events/s",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled),
        done * 100 / total,
        progress.events_done,
        progress.events_total,
        rate
    );
    let _ = std::io::stderr().flush();
}

pub async fn run(args: ReplayArgs) -> CliResult {
    if args.status {
        let engine = open_engine().await?;
        println!(
            "{:<13} {:>22} {:>14} {:>8} {:>8}  last error",
            "projection", "position", "applied", "lag", "failures"
        );
        for status in engine.projection_status().await? {
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
        engine.database().close().await;
        return Ok(());
    }
    let projections = match &args.projection {
        Some(name) => vec![name.parse::<Projection>()?],
        None => Vec::new(),
    };
    let engine = open_engine().await?;
    let started = std::time::Instant::now();
    let events = engine.rebuild_projections(projections, draw_progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!();
    println!(
        "replayed {events} events into {} in {seconds:.2} s: {:.0} events/s",
        args.projection.as_deref().unwrap_or("every projection"),
        events as f64 / seconds.max(1e-9)
    );
    engine.database().close().await;
    Ok(())
}
