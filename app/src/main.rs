use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Consentry: an event-sourced open-banking engine.
#[derive(Parser)]
#[command(name = "consentry", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole story on a fresh embedded SQLite store with a simulated clock.
    Demo,
    /// Rebuilds read models from the first event, atomically.
    Replay(consentry::cli_projections::ReplayArgs),
    /// Prints an aggregate's events with their metadata and its state as of a time.
    Audit(consentry::cli_projections::AuditArgs),
    /// Runs a store benchmark against its cqrs-es baseline.
    Bench(consentry::bench::BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo => run_demo().await,
        Command::Replay(args) => consentry::cli_projections::replay(args).await,
        Command::Audit(args) => consentry::cli_projections::audit(args).await,
        Command::Bench(args) => consentry::bench::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The demo always starts from an empty store of its own, so it can run any number of times.
async fn run_demo() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("consentry-demo-{}.db", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", path.display());
    let result = consentry::demo::run(Some(&url)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(result?)
}
