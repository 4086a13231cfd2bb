//! `consentry serve`: the HTTP API on the store `DATABASE_URL` names, with the banks of `consentry.toml`, the
//! read models following the log live and the expiry job running, until SIGTERM or Ctrl-C, which let the
//! requests in flight finish.

use std::path::Path;
use std::sync::Arc;

use consentry::banks::Banks;
use consentry::config::ConsentryConfig;
use consentry::consents::expiry::spawn_expiry_job;
use consentry::http::HttpServer;
use consentry::Engine;
use consentry_adapters::SystemClock;

use super::CliResult;

/// How often `serve` runs the expiry job.
const EXPIRY_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub async fn run(port: u16, config: &Path, public_url: Option<&str>) -> CliResult {
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
    // SIGTERM (or Ctrl-C) stops accepting and lets the requests in flight finish; the projections and the
    // expiry job stop with their handles after it.
    server.serve_until(consentry::http::termination_signal()).await?;
    println!("stopped");
    Ok(())
}
