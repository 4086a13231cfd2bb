//! `consentry bank probe` against the in-process sandbox bank: all green, whether the sandbox approves
//! consents and payments by itself or the probe has to press Approve on the SCA page. The binary runs as a
//! process, on a blocking thread so this test's runtime keeps serving the sandbox meanwhile.

use std::process::Command;

use consentry_sandbox::{Sandbox, SandboxConfig};

/// Runs `consentry bank probe --base-url URL`: whether it exited 0 (every call succeeded); the output on failure.
async fn run_probe(base_url: &str) -> (bool, String) {
    run_probe_with(base_url, &[]).await
}

/// The same with more arguments (`--json`).
async fn run_probe_with(base_url: &str, more: &[&str]) -> (bool, String) {
    let base_url = base_url.to_owned();
    let more: Vec<String> = more.iter().map(|a| (*a).to_owned()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_consentry"))
            .args(["bank", "probe", "--base-url", &base_url])
            .args(&more)
            .env("RUST_LOG", "off")
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the probe's thread completes");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), printed)
}

#[tokio::test]
async fn the_probe_is_green_against_the_sandbox() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    for bank in ["swedbank", "seb", "luminor", "revolut"] {
        let (passed, printed) = run_probe(&sandbox.bank_url(bank)).await;
        assert!(passed, "{bank}: {printed}");
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
    let (passed, printed) = run_probe(&sandbox.bank_url("seb")).await;
    assert!(passed, "{printed}");
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
    let (passed, printed) = run_probe(&url).await;
    assert!(!passed, "{printed}");
    assert!(printed.contains("calls succeeded"), "a report, not an error: {printed}");
}

#[tokio::test]
async fn the_probe_reports_as_json() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (passed, printed) = run_probe_with(&sandbox.bank_url("swedbank"), &["--json"]).await;
    assert!(passed, "{printed}");
    let report: serde_json::Value = serde_json::from_str(&printed).expect("one JSON document");
    let calls = report["calls"].as_array().expect("calls");
    assert!(!calls.is_empty(), "{report}");
    assert!(
        calls.iter().all(|c| c["ok"] == true && c["call"].is_string()),
        "{report}"
    );
    assert_eq!(report["succeeded"], report["total"], "{report}");
    assert_eq!(report["baseUrl"], sandbox.bank_url("swedbank").as_str(), "{report}");
    let url = sandbox.bank_url("seb");
    sandbox.shutdown().await;
    let (passed, printed) = run_probe_with(&url, &["--json"]).await;
    assert!(!passed, "{printed}");
    let report: serde_json::Value = serde_json::from_str(&printed).expect("one JSON document");
    assert!(report["calls"][0]["ok"] == false, "{report}");
}
