//! The `consentry.toml` file: which banks Consentry talks to (`[[banks]]`) and how the sandbox bank behaves
//! (`[sandbox]`). Without a file, the four sandbox banks on the default sandbox port are configured, so a fresh
//! checkout runs end to end with nothing to set up.

use std::path::Path;
use std::time::Duration;

use consentry_domain::sca::ScaApproach;
use consentry_domain::BankId;
use serde::Deserialize;

use crate::sandbox::SandboxConfig;

/// The port `consentry sandbox` listens on unless told otherwise, and that the default bank list points to.
pub const DEFAULT_SANDBOX_PORT: u16 = 8090;

/// The banks the sandbox serves by default, with their display names.
pub const SANDBOX_BANKS: [(&str, &str); 4] = [
    ("swedbank", "Swedbank"),
    ("seb", "SEB"),
    ("luminor", "Luminor"),
    ("revolut", "Revolut"),
];

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
    /// The whole exchange, from connect to the last body byte.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
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
}

/// The whole `consentry.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentryConfig {
    #[serde(default)]
    pub banks: Vec<BankConfig>,
    #[serde(default)]
    pub sandbox: SandboxConfig,
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

impl ConsentryConfig {
    /// Reads `path`; a missing file means the defaults (the four sandbox banks).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Self::defaults(),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let mut config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "consentry.toml".into(),
            message: e.to_string(),
        })?;
        if config.banks.is_empty() {
            config.banks = Self::defaults()?.banks;
        }
        Ok(config)
    }

    /// The four sandbox banks on the default local sandbox.
    pub fn defaults() -> Result<Self, ConfigError> {
        Ok(Self {
            banks: sandbox_banks(&format!("http://127.0.0.1:{DEFAULT_SANDBOX_PORT}"))?,
            sandbox: SandboxConfig::default(),
        })
    }

    pub fn bank(&self, id: &str) -> Option<&BankConfig> {
        self.banks.iter().find(|b| b.id.as_str() == id)
    }
}

/// The sandbox's banks as client configurations for a sandbox at `sandbox_url`.
pub fn sandbox_banks(sandbox_url: &str) -> Result<Vec<BankConfig>, ConfigError> {
    SANDBOX_BANKS
        .iter()
        .map(|(id, name)| BankConfig::sandbox(id, name, sandbox_url))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_means_the_sandbox_banks() {
        let config = ConsentryConfig::load(Path::new("no-such-dir/consentry.toml")).unwrap();
        let ids: Vec<_> = config.banks.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["swedbank", "seb", "luminor", "revolut"]);
        assert_eq!(config.bank("seb").unwrap().base_url, "http://127.0.0.1:8090/seb");
    }

    #[test]
    fn banks_and_sandbox_settings_parse() {
        let config = ConsentryConfig::parse(
            r#"
            [[banks]]
            id = "swedbank"
            display_name = "Swedbank"
            base_url = "https://psd2.example/swedbank"
            sca_approach = "DECOUPLED"
            timeout_ms = 2500

            [sandbox]
            auto_approve = false
            "#,
        )
        .unwrap();
        let bank = &config.banks[0];
        assert_eq!(bank.sca_approach, ScaApproach::Decoupled);
        assert_eq!(bank.timeout(), Duration::from_millis(2500));
        assert!(!config.sandbox.auto_approve);
        assert!(ConsentryConfig::parse("[[banks]]\nid = \"Not Valid\"").is_err());
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../consentry.example.toml"));
        let config = ConsentryConfig::load(path).unwrap();
        assert_eq!(config.banks.len(), 4);
        assert_eq!(config.bank("revolut").unwrap().sca_approach, ScaApproach::Decoupled);
        assert_eq!(config.sandbox.problem_json_banks, ["revolut"]);
        assert_eq!(config.sandbox.faults["luminor"].timeout_ms, 30_000);
    }
}
