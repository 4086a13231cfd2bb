//! How the Berlin Group client reaches one bank (`BankConfig`, a `[[banks]]` entry of `consentry.toml`) and the
//! errors of configuration. The file as a whole is read by the app, which also hands the sandbox bank its
//! `[sandbox]` section.

use std::time::Duration;

use consentry_domain::sca::ScaApproach;
use consentry_domain::BankId;
use serde::Deserialize;

/// One bank (ASPSP) as the Berlin Group client reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankConfig {
    pub id: BankId,
    pub display_name: String,
    /// Everything before `/v1/...`, such as `https://api.bank.example/psd2` or
    /// `http://127.0.0.1:8090/swedbank`.
    pub base_url: String,
    #[serde(default = "default_sca_approach")]
    pub sca_approach: ScaApproach,
    /// One call, from connect to the last body byte.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// A sync's budget: this much time per call it makes (accounts, then balances and every page of
    /// transactions per account), so it grows with what the sync covers, while a bank answering every call just
    /// under `timeout_ms` cannot hold a sync for calls × timeout.
    #[serde(default = "default_sync_allowance_ms")]
    pub sync_allowance_ms: u64,
    /// A transaction listing's limits: pages, bytes over all pages, and time for the whole listing.
    #[serde(default = "default_max_pages")]
    pub max_pages: usize,
    #[serde(default = "default_max_listing_bytes")]
    pub max_listing_bytes: usize,
    #[serde(default = "default_listing_timeout_ms")]
    pub listing_timeout_ms: u64,
}

fn default_sca_approach() -> ScaApproach {
    ScaApproach::Redirect
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_connect_timeout_ms() -> u64 {
    3_000
}

fn default_sync_allowance_ms() -> u64 {
    4_000
}

fn default_max_pages() -> usize {
    100
}

fn default_max_listing_bytes() -> usize {
    32 * 1024 * 1024
}

fn default_listing_timeout_ms() -> u64 {
    120_000
}

impl BankConfig {
    /// A bank at `base_url` with the default SCA approach and timeouts.
    pub fn new(id: &str, display_name: &str, base_url: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            id: BankId::parse(id).map_err(|e| ConfigError::Invalid(e.to_string()))?,
            display_name: display_name.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            sca_approach: default_sca_approach(),
            timeout_ms: default_timeout_ms(),
            connect_timeout_ms: default_connect_timeout_ms(),
            sync_allowance_ms: default_sync_allowance_ms(),
            max_pages: default_max_pages(),
            max_listing_bytes: default_max_listing_bytes(),
            listing_timeout_ms: default_listing_timeout_ms(),
        })
    }

    /// A bank of a sandbox reachable at `sandbox_url` (such as `http://127.0.0.1:8090`).
    pub fn sandbox(id: &str, display_name: &str, sandbox_url: &str) -> Result<Self, ConfigError> {
        Self::new(id, display_name, &format!("{}/{id}", sandbox_url.trim_end_matches('/')))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn sync_allowance(&self) -> Duration {
        Duration::from_millis(self.sync_allowance_ms)
    }

    pub fn listing_timeout(&self) -> Duration {
        Duration::from_millis(self.listing_timeout_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not a valid consentry.toml: {message}")]
    Parse { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}
