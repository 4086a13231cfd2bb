//! One sandbox bank's memory: its consents, payments and authorisations, the fault settings and the counters
//! tests read. Time-driven transitions (a decoupled SCA completing, a consent passing validUntil, a payment
//! moving RCVD → ACTC → ACSC) are computed from the clock whenever the bank is touched, so a simulated clock
//! jumping months ahead sees every transition at once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_domain::consent::ConsentStatus;
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::{ScaApproach, ScaStatus};
use consentry_domain::{Iban, Money};
use rust_decimal::Decimal;
use serde_json::Value;

use super::data::Prng;
use super::faults::Faults;
use super::malformed::MalformedEntry;
use super::SandboxConfig;

/// What the consent gives access to, as the sandbox enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccessScope {
    AllAccounts,
    AccountListOnly,
    Dedicated {
        accounts: Vec<String>,
        balances: Vec<String>,
        transactions: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct RedirectTarget {
    pub ok: String,
    pub nok: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SandboxConsent {
    pub psu: String,
    /// The `access` object as the TPP sent it, echoed by GET.
    pub access: Value,
    pub scope: AccessScope,
    pub recurring: bool,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    pub status: ConsentStatus,
    pub last_action_date: NaiveDate,
}

#[derive(Debug, Clone)]
pub(crate) struct SandboxPayment {
    pub service: String,
    pub product: String,
    /// The initiation body as received, echoed by GET.
    pub body: Value,
    pub creditor: Iban,
    pub amount: Money,
    pub instant: bool,
    pub authorised_at: Option<DateTime<Utc>>,
    /// RJCT or CANC once decided; the status is otherwise derived from `authorised_at` and the clock.
    pub decided: Option<TransactionStatus>,
    pub over_limit: bool,
}

impl SandboxPayment {
    pub fn status(&self, now: DateTime<Utc>, config: &SandboxConfig) -> TransactionStatus {
        if let Some(decided) = self.decided {
            return decided;
        }
        let Some(authorised_at) = self.authorised_at else {
            return TransactionStatus::Rcvd;
        };
        let elapsed = now - authorised_at;
        let accept = Duration::milliseconds(config.accept_after_ms as i64);
        let settle = if self.instant {
            accept
        } else {
            Duration::milliseconds(config.settle_after_ms as i64)
        };
        if elapsed < accept {
            TransactionStatus::Rcvd
        } else if self.over_limit {
            TransactionStatus::Rjct
        } else if elapsed < settle {
            TransactionStatus::Actc
        } else {
            TransactionStatus::Acsc
        }
    }
}

/// What an authorisation authorises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthorisationTarget {
    Consent(String),
    Payment(String),
    Cancellation(String),
}

#[derive(Debug, Clone)]
pub(crate) struct SandboxAuthorisation {
    pub target: AuthorisationTarget,
    pub sca_status: ScaStatus,
    pub approach: ScaApproach,
    pub started_at: DateTime<Utc>,
    pub redirect: Option<RedirectTarget>,
}

/// Requests to one resource under one consent on one day.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessCount {
    pub requests: u32,
    /// Without `PSU-IP-Address`: the ones frequencyPerDay limits.
    pub unattended: u32,
}

pub(crate) struct BankState {
    pub name: String,
    pub consents: HashMap<String, SandboxConsent>,
    pub payments: HashMap<String, SandboxPayment>,
    pub authorisations: HashMap<String, SandboxAuthorisation>,
    /// Starts as configured; tests switch it through `/{bank}/admin/auto-approve`.
    pub auto_approve: bool,
    pub faults: Faults,
    pub fault_rng: Prng,
    pub accesses: BTreeMap<(String, String, NaiveDate), AccessCount>,
    /// Payments created per X-Request-ID, and the first payment id for de-duplication.
    pub payments_by_request_id: BTreeMap<String, (u32, String)>,
    pub payments_by_end_to_end_id: BTreeMap<String, u32>,
    /// Every entry served broken by `malformed_entry_rate`, in the order served.
    pub malformed_entries: Vec<MalformedEntry>,
}

impl BankState {
    pub fn new(name: &str, auto_approve: bool, faults: Faults) -> Self {
        Self {
            name: name.to_owned(),
            consents: HashMap::new(),
            payments: HashMap::new(),
            authorisations: HashMap::new(),
            auto_approve,
            faults,
            fault_rng: Prng::seeded(&[name, "faults"]),
            accesses: BTreeMap::new(),
            payments_by_request_id: BTreeMap::new(),
            payments_by_end_to_end_id: BTreeMap::new(),
            malformed_entries: Vec::new(),
        }
    }

    /// Applies every transition due by `now`.
    pub fn refresh(&mut self, now: DateTime<Utc>, config: &SandboxConfig) {
        let delay = Duration::milliseconds(config.decoupled_delay_ms as i64);
        let due: Vec<String> = self
            .authorisations
            .iter()
            .filter(|(_, a)| {
                a.approach == ScaApproach::Decoupled && !a.sca_status.is_final() && now - a.started_at >= delay
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.decide(&id, true, now, config);
        }
        let today = now.date_naive();
        for consent in self.consents.values_mut() {
            if consent.status == ConsentStatus::Valid && consent.valid_until < today {
                consent.status = ConsentStatus::Expired;
            }
        }
    }

    pub fn start_authorisation(
        &mut self,
        target: AuthorisationTarget,
        approach: ScaApproach,
        redirect: Option<RedirectTarget>,
        now: DateTime<Utc>,
    ) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let sca_status = if approach == ScaApproach::Decoupled {
            ScaStatus::Started
        } else {
            ScaStatus::Received
        };
        self.authorisations.insert(
            id.clone(),
            SandboxAuthorisation {
                target,
                sca_status,
                approach,
                started_at: now,
                redirect,
            },
        );
        id
    }

    /// The redirect URIs given when the resource was created, for authorisations started later without them.
    pub fn first_redirect(&self, target: &AuthorisationTarget) -> Option<RedirectTarget> {
        self.authorisations
            .values()
            .filter(|a| &a.target == target)
            .find_map(|a| a.redirect.clone())
    }

    /// The user approved or denied authorisation `id`; returns false when it was already decided.
    pub fn decide(&mut self, id: &str, approve: bool, now: DateTime<Utc>, config: &SandboxConfig) -> bool {
        let Some(authorisation) = self.authorisations.get_mut(id) else {
            return false;
        };
        if authorisation.sca_status.is_final() {
            return false;
        }
        authorisation.sca_status = if approve {
            ScaStatus::Finalised
        } else {
            ScaStatus::Failed
        };
        match authorisation.target.clone() {
            AuthorisationTarget::Consent(consent_id) => self.decide_consent(&consent_id, approve),
            AuthorisationTarget::Payment(payment_id) => {
                if let Some(payment) = self.payments.get_mut(&payment_id) {
                    if payment.decided.is_none() && payment.authorised_at.is_none() {
                        if approve {
                            payment.authorised_at = Some(now);
                        } else {
                            payment.decided = Some(TransactionStatus::Rjct);
                        }
                    }
                }
            }
            AuthorisationTarget::Cancellation(payment_id) => {
                if let Some(payment) = self.payments.get_mut(&payment_id) {
                    if approve && !payment.status(now, config).is_final() {
                        payment.decided = Some(TransactionStatus::Canc);
                    }
                }
            }
        }
        true
    }

    /// A newly valid recurring consent makes the PSU's former recurring consent at this bank expire.
    fn decide_consent(&mut self, consent_id: &str, approve: bool) {
        let Some(consent) = self.consents.get_mut(consent_id) else {
            return;
        };
        if consent.status != ConsentStatus::Received {
            return;
        }
        if !approve {
            consent.status = ConsentStatus::Rejected;
            return;
        }
        consent.status = ConsentStatus::Valid;
        if !consent.recurring {
            return;
        }
        let psu = consent.psu.clone();
        for (id, other) in self.consents.iter_mut() {
            if id != consent_id && other.psu == psu && other.recurring && other.status == ConsentStatus::Valid {
                other.status = ConsentStatus::Expired;
            }
        }
    }

    pub fn is_blocked(config: &SandboxConfig, creditor: &Iban) -> bool {
        config
            .blocked_creditors
            .iter()
            .any(|b| b.replace(' ', "") == creditor.as_str())
    }

    pub fn over_limit(config: &SandboxConfig, amount: &Money) -> bool {
        amount.amount() > Decimal::from(config.funds_limit)
    }
}
