//! The `consentry.toml` file: which banks Consentry talks to (`[[banks]]`) and how the sandbox bank behaves
//! (`[sandbox]`). It is read here, in the app, because the app is the one crate that knows both the Berlin Group
//! client's `BankConfig` and the sandbox's `SandboxConfig`. Without a file, the sandbox's banks on the default
//! sandbox port are configured, so a fresh checkout runs end to end with nothing to set up.

use std::path::Path;

use consentry_adapters::config::{BankConfig, ConfigError};
use consentry_sandbox::{SandboxConfig, DEFAULT_SANDBOX_PORT, SANDBOX_BANKS};
use serde::Deserialize;

/// The whole `consentry.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentryConfig {
    #[serde(default)]
    pub banks: Vec<BankConfig>,
    #[serde(default)]
    pub sandbox: SandboxConfig,
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
    use std::time::Duration;

    use consentry_domain::sca::ScaApproach;

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
        assert_eq!(
            config.sandbox.profiles,
            SandboxConfig::default().profiles,
            "the example shows the default bank profiles"
        );
    }
}
