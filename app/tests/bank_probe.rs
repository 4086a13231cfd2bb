//! `consentry bank probe` against the in-process sandbox bank: all green, whether the sandbox approves
//! consents and payments by itself or the probe has to press Approve on the SCA page.

use consentry::cli_bank::run_probe;
use consentry_sandbox::{Sandbox, SandboxConfig};

#[tokio::test]
async fn the_probe_is_green_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for bank in ["swedbank", "seb", "luminor", "revolut"] {
        assert!(run_probe(&sandbox.bank_url(bank)).await.unwrap(), "{bank}");
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_probe_approves_on_the_sca_page_when_the_sandbox_does_not() {
    let config = SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    assert!(run_probe(&sandbox.bank_url("seb")).await.unwrap());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_probe_reports_failure_when_the_bank_is_down() {
    let config = SandboxConfig {
        auto_approve: false,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await.unwrap();
    let url = sandbox.bank_url("seb");
    sandbox.shutdown().await;
    assert!(!run_probe(&url).await.unwrap());
}
