use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use consentry::cli_bank::{run_probe, run_sandbox};
use consentry_adapters::config::DEFAULT_SANDBOX_PORT;

/// Consentry: an event-sourced open-banking engine.
#[derive(Parser)]
#[command(name = "consentry", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sandbox bank (Berlin Group NextGenPSD2) until Ctrl-C.
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
}

#[derive(Subcommand)]
enum BankCommand {
    /// Run every Berlin Group call once against a bank endpoint; exit 0 when all succeed.
    Probe {
        /// Everything before /v1, such as http://127.0.0.1:8090/swedbank.
        #[arg(long)]
        base_url: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let outcome = match Cli::parse().command {
        Command::Sandbox { port, config } => run_sandbox(port, config).await.map(|()| true),
        Command::Bank {
            command: BankCommand::Probe { base_url },
        } => run_probe(&base_url).await,
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
