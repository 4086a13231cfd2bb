//! `consentry serve`: the HTTP API on the store `DATABASE_URL` names, with the banks of `consentry.toml`, the
//! read models following the log live and the scheduler running the due work (payment status polls and
//! reconciliations, consent expiries, scheduled syncs), until SIGTERM or Ctrl-C, which let the requests in
//! flight finish and hand the scheduler's leases back. With `--sandbox` the
//! sandbox banks run in the same process on a free port and the engine talks to them, so trying the service
//! takes one terminal.
//!
//! The first line on stdout names where to reach it, for people and scripts alike: the API's URL is its first
//! `http://` word, and with `--sandbox` the sandbox's URL is the second (`--port 0` picks a free port).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use consentry::banks::Banks;
use consentry::config::ConsentryConfig;
use consentry::http::HttpServer;
use consentry::scheduler::{spawn_scheduler, SchedulerConfig};
use consentry::Engine;
use consentry_adapters::config::BankConfig;
use consentry_adapters::SystemClock;
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle, SANDBOX_BANKS};

use super::CliResult;

/// What `consentry serve` was asked for.
pub struct ServeOptions<'a> {
    pub bind: IpAddr,
    /// 0: a free port.
    pub port: u16,
    pub config: &'a Path,
    pub public_url: Option<&'a str>,
    pub sandbox: bool,
    /// How long the scheduler's claims last.
    pub lease: std::time::Duration,
}

pub async fn run(options: ServeOptions<'_>) -> CliResult {
    let config = ConsentryConfig::load(options.config)?;
    let sandbox = match options.sandbox {
        true => Some(start_sandbox(config.sandbox.clone()).await?),
        false => None,
    };
    let bank_configs = match &sandbox {
        Some(sandbox) => sandbox_bank_configs(&config, sandbox)?,
        None => config.banks.clone(),
    };
    let banks = Banks::from_config(&bank_configs)?;
    let database_url = std::env::var("DATABASE_URL").ok();
    let engine = Engine::open(database_url.as_deref(), Arc::new(SystemClock))
        .await?
        .with_banks(banks);
    let clock = Arc::new(SystemClock);
    let rates = Arc::new(consentry_adapters::ecb::EcbRates::ecb(clock)?);
    let port = match options.port {
        0 => free_port(options.bind)?,
        port => port,
    };
    // Browsers are sent back to the callback: a wildcard address is no place to send them, the loopback is.
    let reachable = match options.bind.is_unspecified() {
        true => IpAddr::V4(Ipv4Addr::LOCALHOST),
        false => options.bind,
    };
    let local = format!("http://{}", SocketAddr::new(reachable, port));
    let public_url = options.public_url.unwrap_or(&local);
    let store = engine.database().backend().name();
    let engine = Arc::new(engine);
    // The read models follow the log live, the scheduler runs what they make due; both stop with the process.
    let _projections = engine.start_projections();
    let (stop_scheduler, stopping) = tokio::sync::watch::channel(false);
    let scheduler_config = SchedulerConfig {
        lease: options.lease,
        ..SchedulerConfig::default()
    };
    let scheduler = spawn_scheduler(engine.clone(), scheduler_config, stopping);
    let server = HttpServer::start(engine, rates, SocketAddr::new(options.bind, port), Some(public_url)).await?;
    match &sandbox {
        Some(sandbox) => println!(
            "Consentry API on {local} with the sandbox banks on {} (store: {store})",
            sandbox.base_url()
        ),
        None => println!("Consentry API on {local} (store: {store})"),
    }
    println!(
        "banks: {}",
        bank_configs
            .iter()
            .map(|b| format!("{} ({})", b.id, b.base_url))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("SCA callback at {}", server.callback_url());
    // SIGTERM (or Ctrl-C) stops accepting and lets the requests in flight finish; the scheduler then finishes
    // its pass and hands its leases back, and the projections stop with their handle.
    server.serve_until(consentry::http::termination_signal()).await?;
    stop_scheduler.send_replace(true);
    if let Err(error) = scheduler.await {
        tracing::warn!(%error, "the scheduler did not stop cleanly");
    }
    println!("stopped");
    Ok(())
}

/// The sandbox banks on a free loopback port. The user approves on their SCA pages, whatever `auto_approve`
/// says: the walkthrough this serves is the real redirect flow.
async fn start_sandbox(config: SandboxConfig) -> CliResult<SandboxHandle> {
    let config = SandboxConfig {
        auto_approve: false,
        ..config
    };
    Ok(Sandbox::start(config).await?)
}

/// The banks the sandbox serves, pointed at it; a bank `consentry.toml` also configures keeps its settings
/// (SCA approach, timeouts) with the sandbox's address.
fn sandbox_bank_configs(config: &ConsentryConfig, sandbox: &SandboxHandle) -> CliResult<Vec<BankConfig>> {
    let mut configs = Vec::new();
    for id in &config.sandbox.banks {
        let bank = match config.bank(id) {
            Some(configured) => BankConfig {
                base_url: sandbox.bank_url(id),
                ..configured.clone()
            },
            None => {
                let name = SANDBOX_BANKS
                    .iter()
                    .find(|(bank, _)| bank == id)
                    .map_or(id.as_str(), |(_, name)| name);
                BankConfig::sandbox(id, name, &sandbox.base_url())?
            }
        };
        configs.push(bank);
    }
    Ok(configs)
}

/// A port free on `bind` now, for `--port 0`: the callback URL must name the port before the server starts.
fn free_port(bind: IpAddr) -> CliResult<u16> {
    let probe = std::net::TcpListener::bind(SocketAddr::new(bind, 0))?;
    Ok(probe.local_addr()?.port())
}
