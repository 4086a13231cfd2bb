//! The banks an `Engine` talks to: one `BankPort` per configured bank id. Built from `consentry.toml` (Berlin
//! Group clients), or assembled by hand in tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use consentry_adapters::berlin_group::BerlinGroupClient;
use consentry_adapters::config::{BankConfig, ConfigError};
use consentry_domain::bank::BankPort;
use consentry_domain::sca::ScaApproach;
use consentry_domain::BankId;

/// A configured bank: its port and the SCA approach Consentry prefers with it.
#[derive(Clone)]
pub struct ConnectedBank {
    pub port: Arc<dyn BankPort>,
    pub display_name: String,
    pub sca_approach: ScaApproach,
    /// How long one call to this bank may take.
    pub timeout: std::time::Duration,
    /// What a sync may spend per call it makes, on top of one `timeout` (see `BankConfig::sync_allowance_ms`).
    pub sync_allowance: std::time::Duration,
}

#[derive(Clone, Default)]
pub struct Banks {
    banks: BTreeMap<BankId, ConnectedBank>,
}

impl Banks {
    /// Berlin Group clients for every bank of the configuration.
    pub fn from_config(configs: &[BankConfig]) -> Result<Self, ConfigError> {
        let mut banks = Self::default();
        for config in configs {
            let client = BerlinGroupClient::new(config.clone())?;
            banks.insert(
                config.id.clone(),
                ConnectedBank {
                    port: Arc::new(client),
                    display_name: config.display_name.clone(),
                    sca_approach: config.sca_approach,
                    timeout: config.timeout(),
                    sync_allowance: config.sync_allowance(),
                },
            );
        }
        Ok(banks)
    }

    pub fn insert(&mut self, id: BankId, bank: ConnectedBank) {
        self.banks.insert(id, bank);
    }

    pub fn get(&self, id: &BankId) -> Option<&ConnectedBank> {
        self.banks.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &BankId> {
        self.banks.keys()
    }
}
