//! The commands of the `consentry` binary: their arguments (clap) and where each one runs. `serve` runs the HTTP
//! API (with `--sandbox`, the sandbox banks too), `tenant` issues API keys, `sandbox` and `bank probe` talk to
//! banks (`bank`), `replay` and `audit` read the event log, `bench` measures Consentry against its baselines, and
//! `demo` tells the whole story (the `demo` module). Every command a script calls takes `--json`; the long ones
//! show progress on a terminal (`progress`).

mod audit;
mod bank;
mod bench;
mod jobs;
mod pay;
mod progress;
mod replay;
mod serve;
mod tenant;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use consentry::Engine;
use consentry_adapters::SystemClock;
use consentry_sandbox::DEFAULT_SANDBOX_PORT;

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Consentry: an event-sourced open-banking engine.
#[derive(Parser)]
#[command(name = "consentry", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the whole story on a fresh SQLite store, ./consentry-demo.db (replaced on each run), with a simulated
    /// clock, and prints the commands that inspect it afterwards.
    Demo,
    /// Serves Consentry's HTTP API on the store DATABASE_URL names, with the banks of consentry.toml (default: the
    /// four sandbox banks on 127.0.0.1:8090). The first line printed names the API's URL (and the sandbox's).
    Serve {
        /// The address the API listens on.
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        bind: IpAddr,
        /// The API's port; 0 picks a free one.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "consentry.toml")]
        config: PathBuf,
        /// The address users' browsers reach this server at (for the SCA callback); default the local one.
        #[arg(long)]
        public_url: Option<String>,
        /// Also run the sandbox banks in this process, on a free port, and talk to them instead (users approve
        /// on the sandbox's SCA pages).
        #[arg(long)]
        sandbox: bool,
        /// How long the scheduler's claims last: another instance takes over a crashed one's work after that.
        #[arg(long, default_value_t = 60)]
        lease_seconds: u64,
    },
    /// Creates tenants, lists them and rotates their API keys, on the store DATABASE_URL names.
    Tenant {
        #[command(subcommand)]
        command: tenant::TenantCommand,
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
    /// The scheduler's due work: its status, or one pass of one kind now.
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// Pays for a tenant's user: records the order, sends it to the bank and starts its authorisation.
    Pay(Box<pay::PayArgs>),
    /// Rebuilds read models from the first event, atomically.
    Replay(replay::ReplayArgs),
    /// Prints an aggregate's events with their metadata and its state as of a time.
    Audit(audit::AuditArgs),
    /// Runs a store benchmark against its cqrs-es baseline.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum BankCommand {
    /// Runs every Berlin Group call once against a bank endpoint; exits 0 when all succeed.
    Probe {
        /// Everything before /v1, such as http://127.0.0.1:8090/swedbank.
        #[arg(long)]
        base_url: String,
        /// Print one JSON document: `{baseUrl, calls: [{call, ok, detail}], succeeded, total}`.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// Runs the command; failure when it failed (its error printed) or reported a failure (`bank probe`).
    pub async fn run(self) -> ExitCode {
        let outcome = match self.command {
            Command::Demo => crate::demo::run_in_the_working_directory()
                .await
                .map(|()| true)
                .map_err(Into::into),
            Command::Serve {
                bind,
                port,
                config,
                public_url,
                sandbox,
                lease_seconds,
            } => serve::run(serve::ServeOptions {
                bind,
                port,
                config: &config,
                public_url: public_url.as_deref(),
                sandbox,
                lease: std::time::Duration::from_secs(lease_seconds),
            })
            .await
            .map(|()| true),
            Command::Tenant { command } => tenant::run(command).await.map(|()| true),
            Command::Sandbox { port, config } => {
                bank::run_sandbox(port, config).await.map(|()| true).map_err(Into::into)
            }
            Command::Bank {
                command: BankCommand::Probe { base_url, json },
            } => bank::run_probe(&base_url, json).await.map_err(Into::into),
            Command::Jobs { command } => jobs::run(command).await.map(|()| true),
            Command::Pay(args) => pay::run(*args).await.map(|()| true),
            Command::Replay(args) => replay::run(args).await.map(|()| true),
            Command::Audit(args) => audit::run(args).await.map(|()| true),
            Command::Bench(args) => bench::run(args).await.map(|()| true),
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
}

/// The Engine on the store `DATABASE_URL` names, the default SQLite file otherwise, on the system clock.
async fn open_engine() -> Result<Engine, Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").ok();
    Ok(Engine::open(url.as_deref(), Arc::new(SystemClock)).await?)
}
