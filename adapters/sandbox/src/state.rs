//! One sandbox bank's memory: its consents, payments and authorisations, the fault settings and the counters
//! tests read. Time-driven transitions (a decoupled SCA completing, a consent passing validUntil, a payment
//! moving RCVD → ACTC → ACSC) are computed from the clock whenever the bank is touched, so a simulated clock
//! jumping months ahead sees every transition at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_domain::consent::ConsentStatus;
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::{ScaApproach, ScaStatus};
use consentry_domain::{Iban, Money};
use rust_decimal::Decimal;
use serde_json::Value;

use super::data::{Prng, SeededTransaction};
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

/// A configured delay in milliseconds, at most a century (so adding it to a moment never overflows).
fn delay(ms: u64) -> Duration {
    const CENTURY_MS: u64 = 100 * 366 * 24 * 3_600 * 1_000;
    Duration::milliseconds(ms.min(CENTURY_MS) as i64)
}

/// What becomes of a payment once it is authorised, decided at initiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Executed: ACSC, or ACCC at a bank that reports it.
    Executed(TransactionStatus),
    /// Rejected at acceptance (over the funds limit, or in the bank's rejected share).
    Rejected,
    /// Never final: PDNG from acceptance on.
    Pending,
}

/// When an authorised payment moves on, and where to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progression {
    /// From authorisation to acceptance (ACTC, or RJCT, or PDNG).
    pub accept: Duration,
    /// From authorisation to execution (at least `accept`).
    pub execute: Duration,
    pub fate: Fate,
}

impl Progression {
    /// The progression at `bank` of a payment identified by `key` (its end-to-end id, else its payment id).
    pub fn new(config: &SandboxConfig, bank: &str, key: &str, instant: bool, over_limit: bool) -> Self {
        let profile = config
            .profiles
            .get(bank)
            .map(|p| p.payments.clone())
            .unwrap_or_default();
        let accept = delay(profile.accept_after_ms.unwrap_or(config.accept_after_ms));
        let settle = delay(profile.settle_after_ms.unwrap_or(config.settle_after_ms));
        let execute = if instant { accept } else { settle.max(accept) };
        let roll = Prng::seeded(&[bank, key, "progression"]).unit();
        let fate = if over_limit || roll < profile.rejected_share {
            Fate::Rejected
        } else if roll < profile.rejected_share + profile.pending_share {
            Fate::Pending
        } else if profile.reports_accc {
            Fate::Executed(TransactionStatus::Accc)
        } else {
            Fate::Executed(TransactionStatus::Acsc)
        };
        Self { accept, execute, fate }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SandboxPayment {
    pub service: String,
    pub product: String,
    /// The initiation body as received, echoed by GET: kept as its compact text, which a bank with many
    /// payments in flight holds in a fraction of the memory of a parsed tree.
    pub body: Box<str>,
    pub creditor: Iban,
    pub creditor_name: String,
    pub amount: Money,
    pub end_to_end_id: Option<String>,
    pub remittance: Option<String>,
    /// The SCA approach and redirect URIs asked for at initiation, for authorisations the TPP starts later
    /// without saying them again.
    pub approach: ScaApproach,
    pub redirect: Option<RedirectTarget>,
    pub progression: Progression,
    pub authorised_at: Option<DateTime<Utc>>,
    /// RJCT or CANC once decided; the status is otherwise derived from `authorised_at` and the clock.
    pub decided: Option<TransactionStatus>,
    /// A cancellation waits for the user's authorisation (DELETE answered 202).
    pub cancellation_requested: bool,
    /// Every read of the payment's status (GET of the payment or of its status), at the sandbox clock's time.
    pub polls: Vec<DateTime<Utc>>,
}

impl SandboxPayment {
    pub fn status(&self, now: DateTime<Utc>) -> TransactionStatus {
        if let Some(decided) = self.decided {
            return decided;
        }
        let Some(authorised_at) = self.authorised_at else {
            return TransactionStatus::Rcvd;
        };
        let elapsed = now - authorised_at;
        if elapsed < self.progression.accept {
            return TransactionStatus::Rcvd;
        }
        match self.progression.fate {
            Fate::Rejected => TransactionStatus::Rjct,
            Fate::Pending => TransactionStatus::Pdng,
            Fate::Executed(_) if elapsed < self.progression.execute => TransactionStatus::Actc,
            Fate::Executed(status) => status,
        }
    }

    /// When the payment is (or will be) executed, if it is.
    pub fn executed_at(&self) -> Option<DateTime<Utc>> {
        match (self.decided, self.authorised_at, self.progression.fate) {
            (None, Some(authorised_at), Fate::Executed(_)) => Some(authorised_at + self.progression.execute),
            _ => None,
        }
    }

    /// The booked debit of the debtor's account once the payment is executed by `now`, under transaction id
    /// `B-PAY-{payment id}`, dated the day of execution.
    pub fn booking(&self, payment_id: &str, now: DateTime<Utc>) -> Option<SeededTransaction> {
        let day = self.executed_at().filter(|at| *at <= now)?.date_naive();
        let entry_reference = format!("{:016X}", Prng::seeded(&[payment_id, "entry"]).next_u64());
        Some(SeededTransaction {
            transaction_id: format!("B-PAY-{payment_id}"),
            entry_reference,
            end_to_end_id: Some(self.end_to_end_id.clone().unwrap_or_else(|| NOT_PROVIDED.to_owned())),
            booking_date: Some(day),
            value_date: day,
            amount: -self.amount.amount(),
            currency: self.amount.currency(),
            counterparty: self.creditor_name.clone(),
            counterparty_iban: Some(self.creditor.clone()),
            remittance: self.remittance.clone(),
            bank_transaction_code: "PMNT-ICDT-ESCT",
        })
    }
}

/// The end-to-end id of a payment initiated without one, as ISO 20022 writes it.
const NOT_PROVIDED: &str = "NOTPROVIDED";

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
    /// The payments debiting each IBAN, for the bookings of executed ones.
    pub payments_by_debtor: HashMap<Iban, Vec<String>>,
    /// Decoupled authorisations not decided yet, which the clock moves on.
    pub open_decoupled: BTreeSet<String>,
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
            payments_by_debtor: HashMap::new(),
            open_decoupled: BTreeSet::new(),
            malformed_entries: Vec::new(),
        }
    }

    /// Applies every transition due by `now`. A decoupled authorisation is `received`, `psuAuthenticated` after
    /// half of `decoupled_delay_ms`, and approved when the delay has passed, as of that moment (so a clock that
    /// jumps ahead sees what followed from it on time).
    pub fn refresh(&mut self, now: DateTime<Utc>, config: &SandboxConfig) {
        let delay = delay(config.decoupled_delay_ms);
        let mut due = Vec::new();
        for id in &self.open_decoupled {
            let Some(authorisation) = self.authorisations.get_mut(id) else {
                continue;
            };
            let elapsed = now - authorisation.started_at;
            if elapsed >= delay {
                due.push((authorisation.started_at + delay, id.clone()));
            } else if elapsed >= delay / 2 {
                authorisation.sca_status = ScaStatus::PsuAuthenticated;
            }
        }
        due.sort();
        for (at, id) in due {
            self.decide(&id, true, at);
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
        if approach == ScaApproach::Decoupled {
            self.open_decoupled.insert(id.clone());
        }
        self.authorisations.insert(
            id.clone(),
            SandboxAuthorisation {
                target,
                sca_status: ScaStatus::Received,
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

    /// The user approved or denied authorisation `id` at `at`; returns false when it was already decided.
    pub fn decide(&mut self, id: &str, approve: bool, at: DateTime<Utc>) -> bool {
        let Some(authorisation) = self.authorisations.get_mut(id) else {
            return false;
        };
        if authorisation.sca_status.is_final() {
            return false;
        }
        self.open_decoupled.remove(id);
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
                            payment.authorised_at = Some(at);
                        } else {
                            payment.decided = Some(TransactionStatus::Rjct);
                        }
                    }
                }
            }
            AuthorisationTarget::Cancellation(payment_id) => {
                if let Some(payment) = self.payments.get_mut(&payment_id) {
                    payment.cancellation_requested = false;
                    if approve && !payment.status(at).is_final() {
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

    /// The booked debits of `debtor` for its payments executed by `now`, newest first.
    pub fn bookings(&self, debtor: &Iban, now: DateTime<Utc>) -> Vec<SeededTransaction> {
        let Some(ids) = self.payments_by_debtor.get(debtor) else {
            return Vec::new();
        };
        let mut booked: Vec<(DateTime<Utc>, SeededTransaction)> = ids
            .iter()
            .filter_map(|id| {
                let payment = self.payments.get(id)?;
                Some((payment.executed_at()?, payment.booking(id, now)?))
            })
            .collect();
        booked.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        booked.into_iter().map(|(_, t)| t).collect()
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
