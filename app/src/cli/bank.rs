//! The bank-facing commands of the `consentry` binary: `consentry sandbox` (run the sandbox bank standalone)
//! and `consentry bank probe` (run every Berlin Group client call once against a bank endpoint and report).

use std::net::SocketAddr;
use std::path::PathBuf;

use consentry_adapters::berlin_group::probe::probe;
use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::{BankConfig, ConfigError};
use consentry_sandbox::{Sandbox, SandboxError};
use serde::Serialize;

use consentry::config::ConsentryConfig;

/// The config file read when none is named; missing means the defaults.
const DEFAULT_CONFIG: &str = "consentry.toml";

#[derive(Debug, thiserror::Error)]
pub enum BankCliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error("waiting for Ctrl-C failed: {0}")]
    Signal(std::io::Error),
    #[error("cannot print the probe as JSON: {0}")]
    Json(serde_json::Error),
}

/// Runs the sandbox bank on 127.0.0.1:`port` until Ctrl-C, with `[sandbox]` from the config file.
pub async fn run_sandbox(port: u16, config: Option<PathBuf>) -> Result<(), BankCliError> {
    let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let config = ConsentryConfig::load(&path)?;
    let banks = config.sandbox.banks.join(", ");
    let handle = Sandbox::start_at(config.sandbox, SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("sandbox bank listening on {} (banks: {banks})", handle.base_url());
    for bank in banks.split(", ") {
        println!("  {}/v1/...", handle.bank_url(bank));
    }
    handle.serve_until_interrupted().await.map_err(BankCliError::Signal)
}

/// The bank id a probe logs under: the URL's last path segment when it is a valid id (the sandbox's bank
/// names), `probe` otherwise.
fn probe_bank_id(base_url: &str) -> String {
    let last = base_url.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    if consentry_domain::BankId::parse(last).is_ok() {
        last.to_owned()
    } else {
        "probe".to_owned()
    }
}

/// One call of a probe as `--json` prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProbedCall<'a> {
    call: &'a str,
    ok: bool,
    /// What the bank answered, or why the call failed.
    detail: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProbeDocument<'a> {
    base_url: &'a str,
    calls: Vec<ProbedCall<'a>>,
    succeeded: usize,
    total: usize,
}

/// Probes the bank at `base_url` (everything before `/v1`), printing one line per call (`json`: one JSON
/// document); true when every call succeeded.
pub async fn run_probe(base_url: &str, json: bool) -> Result<bool, BankCliError> {
    let id = probe_bank_id(base_url);
    let client = BerlinGroupClient::new(BankConfig::new(&id, &id, base_url)?)?;
    let steps = probe(&client).await;
    if json {
        let calls: Vec<ProbedCall> = steps
            .iter()
            .map(|step| ProbedCall {
                call: step.call,
                ok: step.succeeded(),
                detail: match &step.outcome {
                    Ok(detail) | Err(detail) => detail,
                },
            })
            .collect();
        let document = ProbeDocument {
            base_url,
            succeeded: calls.iter().filter(|c| c.ok).count(),
            total: calls.len(),
            calls,
        };
        println!("{}", serde_json::to_string(&document).map_err(BankCliError::Json)?);
        return Ok(document.succeeded == document.total);
    }
    for step in &steps {
        match &step.outcome {
            Ok(detail) => println!("ok    {:<18} {detail}", step.call),
            Err(error) => println!("FAIL  {:<18} {error}", step.call),
        }
    }
    let passed = steps.iter().all(|s| s.succeeded());
    println!(
        "{} of {} calls succeeded",
        steps.iter().filter(|s| s.succeeded()).count(),
        steps.len()
    );
    Ok(passed)
}
