use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use consentry::cli_bank::{run_probe, run_sandbox};
use std::sync::Arc;

use consentry::banks::Banks;
use consentry::config::ConsentryConfig;
use consentry::expiry::spawn_expiry_job;
use consentry::http::HttpServer;
use consentry::Engine;
use consentry_adapters::SystemClock;
use consentry_sandbox::DEFAULT_SANDBOX_PORT;
use tracing_subscriber::EnvFilter;

/// How often `serve` runs the expiry job.
const EXPIRY_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

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
    /// Serves Consentry's HTTP interface (the SCA callback) on the store DATABASE_URL names, with the banks of
    /// consentry.toml (default: the four sandbox banks on 127.0.0.1:8090).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "consentry.toml")]
        config: PathBuf,
        /// The address users' browsers reach this server at (for the SCA callback); default the local one.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Runs the sandbox bank (Berlin Group NextGenPSD2) until Ctrl-C.
    Sandbox {
        #[arg(long, default_value_t = DEFAULT_SANDBOX_PORT)]
        port: u16,
        /// consentry.toml to read `[sandbox]` from (default ./consentry.toml, if present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Tools for talking to banks.
    Bank {
        #[command(subcommand)]
        command: BankCommand,
    },
    /// Rebuilds read models from the first event, atomically.
    Replay(consentry::cli_projections::ReplayArgs),
    /// Prints an aggregate's events with their metadata and its state as of a time.
    Audit(consentry::cli_projections::AuditArgs),
    /// Runs a store benchmark against its cqrs-es baseline.
    Bench(consentry::bench::BenchArgs),
}

#[derive(Subcommand)]
enum BankCommand {
    /// Runs every Berlin Group call once against a bank endpoint; exits 0 when all succeed.
    Probe {
        /// Everything before /v1, such as http://127.0.0.1:8090/swedbank.
        #[arg(long)]
        base_url: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let outcome = match Cli::parse().command {
        Command::Demo => run_demo().await.map(|()| true),
        Command::Serve {
            port,
            config,
            public_url,
        } => run_serve(port, &config, public_url.as_deref()).await.map(|()| true),
        Command::Sandbox { port, config } => run_sandbox(port, config).await.map(|()| true).map_err(Into::into),
        Command::Bank {
            command: BankCommand::Probe { base_url },
        } => run_probe(&base_url).await.map_err(Into::into),
        Command::Replay(args) => consentry::cli_projections::replay(args).await.map(|()| true),
        Command::Audit(args) => consentry::cli_projections::audit(args).await.map(|()| true),
        Command::Bench(args) => consentry::bench::run(args).await.map(|()| true),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("consentry: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_serve(
    port: u16,
    config: &std::path::Path,
    public_url: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let config = ConsentryConfig::load(config)?;
    let banks = Banks::from_config(&config.banks)?;
    let database_url = std::env::var("DATABASE_URL").ok();
    let engine = Engine::open(database_url.as_deref(), Arc::new(SystemClock))
        .await?
        .with_banks(banks);
    println!(
        "Consentry on {} with banks {}",
        engine.database().backend().name(),
        config
            .banks
            .iter()
            .map(|b| b.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let clock = Arc::new(SystemClock);
    let rates = Arc::new(consentry_adapters::ecb::EcbRates::ecb(clock)?);
    let local = format!("http://127.0.0.1:{port}");
    let public_url = public_url.unwrap_or(&local);
    let engine = Arc::new(engine);
    // The read models follow the log live; lapsed consents expire within the hour. Both stop with the process.
    let _projections = engine.start_projections();
    let _expiry = spawn_expiry_job(engine.clone(), EXPIRY_EVERY);
    let server = HttpServer::start(engine, rates, ([0, 0, 0, 0], port).into(), Some(public_url)).await?;
    println!("SCA callback at {}", server.callback_url());
    println!("listening on {}", server.base_url());
    server.wait().await?;
    Ok(())
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
