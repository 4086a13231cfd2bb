//! The Consent aggregate: one PSD2 account-information consent of one user at one bank, from the request to a
//! final state. Reads top to bottom: commands, events, state, decide (`handle`), evolve (`apply`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::sca::ScaLinks;
use crate::{BankId, Clock, ConsentId, FieldError, Iban, TenantId, UserId};

/// The most unattended accesses per day PSD2 allows a consent to ask for.
pub const MAX_FREQUENCY_PER_DAY: u8 = 4;

// ---------------------------------------------------------------------------------------------------------
// Commands

/// What a consent gives access to (Berlin Group `access`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ConsentAccess {
    /// `allPsd2: allAccounts`: accounts, balances and transactions of every payment account.
    AllPsd2,
    /// `availableAccounts: allAccounts`: the account list only.
    AvailableAccounts,
    /// Named accounts per resource.
    Dedicated {
        accounts: Vec<Iban>,
        balances: Vec<Iban>,
        transactions: Vec<Iban>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentRequest {
    pub tenant: TenantId,
    pub user: UserId,
    pub bank: BankId,
    pub access: ConsentAccess,
    pub recurring_indicator: bool,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    /// Set when this consent renews an earlier one, so history and account identities carry over.
    pub renewal_of: Option<ConsentId>,
}

/// Who ended a valid consent early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevokedBy {
    /// The user, at the bank or through the host application: `revokedByPsu`.
    Psu,
    /// Consentry on behalf of the tenant (DELETE /v1/consents/{id}): `terminatedByTpp`.
    Tpp,
}

/// Why a consent expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ExpiryCause {
    /// The `Clock` passed validUntil.
    ValidUntilPassed,
    /// The bank answered `CONSENT_EXPIRED` (or reported status `expired`), whatever our clock says; this also
    /// covers a newer recurring consent at the same bank replacing this one.
    BankReportedExpired,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConsentCommand {
    Request(ConsentRequest),
    RecordBankConsent {
        bank_consent_id: String,
        sca: ScaLinks,
    },
    Authorise,
    Reject {
        reason: String,
    },
    Expire {
        cause: ExpiryCause,
    },
    Revoke {
        by: RevokedBy,
    },
    LinkRenewal {
        renewed_by: ConsentId,
    },
    /// Counts one access without the user present to each of `resources` (such as `accounts` or
    /// `accounts/{id}/transactions`) against frequencyPerDay for the clock's calendar day: all of them or, when
    /// one is over budget, none, so a sync never starts that could not finish.
    CountUnattendedAccess {
        resources: Vec<String>,
    },
    /// The bank answered 429 with `Retry-After`: no unattended access is counted (so none is made) before
    /// `until`.
    WaitForBank {
        until: DateTime<Utc>,
    },
}

impl ConsentCommand {
    pub fn name(&self) -> &'static str {
        match self {
            ConsentCommand::Request(_) => "Request",
            ConsentCommand::RecordBankConsent { .. } => "RecordBankConsent",
            ConsentCommand::Authorise => "Authorise",
            ConsentCommand::Reject { .. } => "Reject",
            ConsentCommand::Expire { .. } => "Expire",
            ConsentCommand::Revoke { by: RevokedBy::Psu } => "Revoke(Psu)",
            ConsentCommand::Revoke { by: RevokedBy::Tpp } => "Revoke(Tpp)",
            ConsentCommand::LinkRenewal { .. } => "LinkRenewal",
            ConsentCommand::CountUnattendedAccess { .. } => "CountUnattendedAccess",
            ConsentCommand::WaitForBank { .. } => "WaitForBank",
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// Events

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConsentEvent {
    ConsentRequested(ConsentRequest),
    #[serde(rename_all = "camelCase")]
    BankConsentRecorded {
        bank_consent_id: String,
        sca: ScaLinks,
    },
    ConsentAuthorised,
    ConsentRejected {
        reason: String,
    },
    ConsentExpired {
        cause: ExpiryCause,
    },
    ConsentRevokedByPsu,
    ConsentTerminatedByTpp,
    #[serde(rename_all = "camelCase")]
    RenewalLinked {
        renewed_by: ConsentId,
    },
    UnattendedAccessCounted {
        day: NaiveDate,
        resources: Vec<String>,
    },
    /// The bank asked to be left alone until `until` (a 429's `Retry-After`).
    BankAskedToWait {
        until: DateTime<Utc>,
    },
}

impl DomainEvent for ConsentEvent {
    fn event_type(&self) -> String {
        let name = match self {
            ConsentEvent::ConsentRequested(_) => "ConsentRequested",
            ConsentEvent::BankConsentRecorded { .. } => "BankConsentRecorded",
            ConsentEvent::ConsentAuthorised => "ConsentAuthorised",
            ConsentEvent::ConsentRejected { .. } => "ConsentRejected",
            ConsentEvent::ConsentExpired { .. } => "ConsentExpired",
            ConsentEvent::ConsentRevokedByPsu => "ConsentRevokedByPsu",
            ConsentEvent::ConsentTerminatedByTpp => "ConsentTerminatedByTpp",
            ConsentEvent::RenewalLinked { .. } => "RenewalLinked",
            ConsentEvent::UnattendedAccessCounted { .. } => "UnattendedAccessCounted",
            ConsentEvent::BankAskedToWait { .. } => "BankAskedToWait",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

// ---------------------------------------------------------------------------------------------------------
// State

/// Berlin Group consentStatus, as far as Consentry's lifecycle goes (`partiallyAuthorised` is multi-level SCA,
/// later work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConsentStatus {
    /// Not authorised yet: Consentry's `Requested` and `AwaitingAuthorisation` stages.
    Received,
    Valid,
    Rejected,
    Expired,
    RevokedByPsu,
    TerminatedByTpp,
}

impl ConsentStatus {
    pub fn is_final(&self) -> bool {
        !matches!(self, ConsentStatus::Received | ConsentStatus::Valid)
    }

    /// The Berlin Group spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            ConsentStatus::Received => "received",
            ConsentStatus::Valid => "valid",
            ConsentStatus::Rejected => "rejected",
            ConsentStatus::Expired => "expired",
            ConsentStatus::RevokedByPsu => "revokedByPsu",
            ConsentStatus::TerminatedByTpp => "terminatedByTpp",
        }
    }
}

impl fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The bank's consent resource: its id, and the links through which the user authorises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankConsent {
    pub id: String,
    pub sca: ScaLinks,
}

/// Where a consent stands in its lifecycle. Berlin Group's `received` is two stages here because what may
/// happen next differs: before the bank has created its consent there is nothing for the user to authorise.
/// A stage carries the bank's consent exactly when one exists, so no code has to guess from an empty id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConsentStage {
    /// Requested; the bank has not created its consent yet.
    Requested,
    /// The bank created its consent: waiting for the user to authorise it at the bank through its SCA links.
    #[serde(rename_all = "camelCase")]
    AwaitingAuthorisation { bank_consent: BankConsent },
    /// Authorised by the user: account data may be read with it.
    #[serde(rename_all = "camelCase")]
    Valid { bank_consent: BankConsent },
    /// Final. The bank's consent is kept where there was one, for audits and for reading its status back.
    #[serde(rename_all = "camelCase")]
    Rejected { bank_consent: Option<BankConsent> },
    /// Final.
    #[serde(rename_all = "camelCase")]
    Expired {
        cause: ExpiryCause,
        bank_consent: Option<BankConsent>,
    },
    /// Final; only a valid consent can be revoked by its user.
    #[serde(rename_all = "camelCase")]
    RevokedByPsu { bank_consent: BankConsent },
    /// Final.
    #[serde(rename_all = "camelCase")]
    TerminatedByTpp { bank_consent: Option<BankConsent> },
}

impl ConsentStage {
    /// The Berlin Group consentStatus of this stage.
    pub fn status(&self) -> ConsentStatus {
        match self {
            ConsentStage::Requested | ConsentStage::AwaitingAuthorisation { .. } => ConsentStatus::Received,
            ConsentStage::Valid { .. } => ConsentStatus::Valid,
            ConsentStage::Rejected { .. } => ConsentStatus::Rejected,
            ConsentStage::Expired { .. } => ConsentStatus::Expired,
            ConsentStage::RevokedByPsu { .. } => ConsentStatus::RevokedByPsu,
            ConsentStage::TerminatedByTpp { .. } => ConsentStatus::TerminatedByTpp,
        }
    }

    pub fn bank_consent(&self) -> Option<&BankConsent> {
        match self {
            ConsentStage::Requested => None,
            ConsentStage::AwaitingAuthorisation { bank_consent }
            | ConsentStage::Valid { bank_consent }
            | ConsentStage::RevokedByPsu { bank_consent } => Some(bank_consent),
            ConsentStage::Rejected { bank_consent }
            | ConsentStage::Expired { bank_consent, .. }
            | ConsentStage::TerminatedByTpp { bank_consent } => bank_consent.as_ref(),
        }
    }
}

/// What Consentry does with the bank's consent besides the consent's own commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankConsentUse {
    /// Reading the consent's status, or its authorisation's SCA status, back from the bank.
    ReadStatus,
    /// Reading accounts, balances and transactions with the consent (a sync).
    ReadAccountData,
}

impl fmt::Display for BankConsentUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BankConsentUse::ReadStatus => "reading the consent's status at the bank",
            BankConsentUse::ReadAccountData => "reading account data",
        })
    }
}

/// A requested consent. `Consent::default()` (no `state`) is a consent not yet requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentState {
    pub stage: ConsentStage,
    pub request: ConsentRequest,
    pub renewed_by: Option<ConsentId>,
    /// The unattended accesses of `access_day` per resource; older days are dropped.
    pub access_day: Option<NaiveDate>,
    pub accesses: BTreeMap<String, u8>,
    /// No unattended access before this moment: the bank's last `Retry-After`.
    #[serde(default)]
    pub wait_until: Option<DateTime<Utc>>,
}

impl ConsentState {
    pub fn status(&self) -> ConsentStatus {
        self.stage.status()
    }

    /// The bank's consent for `purpose`: any recorded one to read its status back, a valid one to read data.
    pub fn bank_consent_for(&self, purpose: BankConsentUse) -> Result<&BankConsent, ConsentError> {
        match (purpose, &self.stage) {
            (BankConsentUse::ReadAccountData, ConsentStage::Valid { bank_consent }) => Ok(bank_consent),
            (BankConsentUse::ReadAccountData, stage) => Err(ConsentError::NotValid {
                purpose,
                status: stage.status(),
            }),
            (BankConsentUse::ReadStatus, stage) => stage.bank_consent().ok_or(ConsentError::NotAtBank { purpose }),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub state: Option<ConsentState>,
}

impl Consent {
    pub fn status(&self) -> Option<ConsentStatus> {
        self.state.as_ref().map(ConsentState::status)
    }

    /// Unattended accesses already counted to `resource` on `day`.
    pub fn accesses_on(&self, day: NaiveDate, resource: &str) -> u8 {
        match &self.state {
            Some(s) if s.access_day == Some(day) => s.accesses.get(resource).copied().unwrap_or(0),
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("{0}")]
    InvalidField(FieldError),
    #[error("the consent has not been requested")]
    NotRequested,
    #[error("the consent has already been requested")]
    AlreadyRequested,
    #[error("the consent is {0}, a final state: it accepts no more commands")]
    Final(ConsentStatus),
    #[error("{command} is not allowed on a consent that is {status}")]
    NotAllowed {
        command: &'static str,
        status: ConsentStatus,
    },
    #[error("{command} needs the bank's consent id, which is not recorded yet")]
    BankConsentMissing { command: &'static str },
    #[error("{purpose} needs the bank's consent, which the bank has not created yet")]
    NotAtBank { purpose: BankConsentUse },
    #[error("{purpose} needs a valid consent; this one is {status}")]
    NotValid {
        purpose: BankConsentUse,
        status: ConsentStatus,
    },
    #[error("the consent is valid until {valid_until}; on {today} it has not expired by the clock")]
    NotYetExpired { valid_until: NaiveDate, today: NaiveDate },
    #[error("the consent's validUntil {valid_until} has passed (today is {today}): expire it")]
    ValidUntilPassed { valid_until: NaiveDate, today: NaiveDate },
    #[error("unattended access budget for {resource} on {day} is spent ({limit} per day)")]
    AccessBudgetExhausted {
        resource: String,
        day: NaiveDate,
        limit: u8,
    },
    #[error("the bank asked Consentry to wait until {until} (Retry-After)")]
    BankAskedToWait { until: DateTime<Utc> },
}

/// What a consent decision needs from outside: only the clock.
pub struct ConsentServices {
    pub clock: Arc<dyn Clock>,
}

// ---------------------------------------------------------------------------------------------------------
// Decide

fn validate_request(request: &ConsentRequest, today: NaiveDate) -> Result<(), ConsentError> {
    let invalid = |field: &str, problem: String| Err(ConsentError::InvalidField(FieldError::new(field, problem)));
    if request.frequency_per_day == 0 || request.frequency_per_day > MAX_FREQUENCY_PER_DAY {
        return invalid(
            "frequencyPerDay",
            format!(
                "is {}; it must be 1 to {MAX_FREQUENCY_PER_DAY}",
                request.frequency_per_day
            ),
        );
    }
    if !request.recurring_indicator && request.frequency_per_day != 1 {
        return invalid(
            "frequencyPerDay",
            format!(
                "is {}; a one-off consent (recurringIndicator false) allows 1",
                request.frequency_per_day
            ),
        );
    }
    if request.valid_until < today {
        return invalid(
            "validUntil",
            format!("{} is in the past (today is {today})", request.valid_until),
        );
    }
    if let ConsentAccess::Dedicated {
        accounts,
        balances,
        transactions,
    } = &request.access
    {
        if accounts.is_empty() && balances.is_empty() && transactions.is_empty() {
            return invalid("access", "names no account".into());
        }
    }
    Ok(())
}

impl Consent {
    /// The decision: which events `command` produces from this state, or why it is refused.
    pub fn decide(&self, command: ConsentCommand, clock: &dyn Clock) -> Result<Vec<ConsentEvent>, ConsentError> {
        let today = clock.today();
        let Some(state) = &self.state else {
            return match command {
                ConsentCommand::Request(request) => {
                    validate_request(&request, today)?;
                    Ok(vec![ConsentEvent::ConsentRequested(request)])
                }
                _ => Err(ConsentError::NotRequested),
            };
        };
        let status = state.status();
        if status.is_final() {
            return Err(ConsentError::Final(status));
        }
        let not_allowed = |command: &ConsentCommand| ConsentError::NotAllowed {
            command: command.name(),
            status,
        };
        use ConsentStage::{AwaitingAuthorisation, Requested, Valid};
        match (&command, &state.stage) {
            (ConsentCommand::Request(_), _) => Err(ConsentError::AlreadyRequested),
            (ConsentCommand::RecordBankConsent { bank_consent_id, sca }, Requested) => {
                if bank_consent_id.trim().is_empty() {
                    return Err(ConsentError::InvalidField(FieldError::new("consentId", "is empty")));
                }
                Ok(vec![ConsentEvent::BankConsentRecorded {
                    bank_consent_id: bank_consent_id.clone(),
                    sca: sca.clone(),
                }])
            }
            (ConsentCommand::Authorise, AwaitingAuthorisation { .. }) => Ok(vec![ConsentEvent::ConsentAuthorised]),
            (ConsentCommand::Authorise, Requested) => Err(ConsentError::BankConsentMissing {
                command: command.name(),
            }),
            (ConsentCommand::Reject { reason }, Requested | AwaitingAuthorisation { .. }) => {
                Ok(vec![ConsentEvent::ConsentRejected { reason: reason.clone() }])
            }
            (ConsentCommand::Expire { cause }, _) => {
                let valid_until = state.request.valid_until;
                if *cause == ExpiryCause::ValidUntilPassed && today <= valid_until {
                    return Err(ConsentError::NotYetExpired { valid_until, today });
                }
                Ok(vec![ConsentEvent::ConsentExpired { cause: *cause }])
            }
            (ConsentCommand::Revoke { by: RevokedBy::Psu }, Valid { .. }) => {
                Ok(vec![ConsentEvent::ConsentRevokedByPsu])
            }
            (ConsentCommand::Revoke { by: RevokedBy::Tpp }, _) => Ok(vec![ConsentEvent::ConsentTerminatedByTpp]),
            (ConsentCommand::LinkRenewal { renewed_by }, Valid { .. }) if state.renewed_by.is_none() => {
                Ok(vec![ConsentEvent::RenewalLinked {
                    renewed_by: *renewed_by,
                }])
            }
            (ConsentCommand::CountUnattendedAccess { resources }, Valid { .. }) => {
                let valid_until = state.request.valid_until;
                if today > valid_until {
                    return Err(ConsentError::ValidUntilPassed { valid_until, today });
                }
                let mut resources = resources.clone();
                resources.sort();
                resources.dedup();
                if resources.is_empty() || resources.iter().any(|r| r.trim().is_empty()) {
                    return Err(ConsentError::InvalidField(FieldError::new(
                        "resources",
                        "names no resource",
                    )));
                }
                if let Some(until) = state.wait_until.filter(|until| clock.now() < *until) {
                    return Err(ConsentError::BankAskedToWait { until });
                }
                let limit = state.request.frequency_per_day;
                if let Some(spent) = resources.iter().find(|r| self.accesses_on(today, r) >= limit) {
                    return Err(ConsentError::AccessBudgetExhausted {
                        resource: spent.clone(),
                        day: today,
                        limit,
                    });
                }
                Ok(vec![ConsentEvent::UnattendedAccessCounted { day: today, resources }])
            }
            (ConsentCommand::WaitForBank { until }, Valid { .. }) => {
                if state.wait_until.is_some_and(|known| known >= *until) || *until <= clock.now() {
                    return Ok(Vec::new());
                }
                Ok(vec![ConsentEvent::BankAskedToWait { until: *until }])
            }
            _ => Err(not_allowed(&command)),
        }
    }
}

impl Aggregate for Consent {
    const TYPE: &'static str = "Consent";
    type Command = ConsentCommand;
    type Event = ConsentEvent;
    type Error = ConsentError;
    type Services = ConsentServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services.clock.as_ref())? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------------
    // Evolve

    fn apply(&mut self, event: Self::Event) {
        if let ConsentEvent::ConsentRequested(request) = event {
            self.state = Some(ConsentState {
                stage: ConsentStage::Requested,
                request,
                renewed_by: None,
                access_day: None,
                accesses: BTreeMap::new(),
                wait_until: None,
            });
            return;
        }
        // Events only exist for a requested consent; a stray one on an empty aggregate changes nothing.
        let Some(state) = self.state.as_mut() else {
            return;
        };
        let bank_consent = |stage: &ConsentStage| stage.bank_consent().cloned();
        match event {
            ConsentEvent::ConsentRequested(_) => {}
            ConsentEvent::BankConsentRecorded { bank_consent_id, sca } => {
                state.stage = ConsentStage::AwaitingAuthorisation {
                    bank_consent: BankConsent {
                        id: bank_consent_id,
                        sca,
                    },
                };
            }
            // `decide` authorises and lets the user revoke only a consent the bank has; an event that says
            // otherwise cannot be one it emitted, and changes nothing.
            ConsentEvent::ConsentAuthorised => {
                if let Some(bank_consent) = bank_consent(&state.stage) {
                    state.stage = ConsentStage::Valid { bank_consent };
                }
            }
            ConsentEvent::ConsentRevokedByPsu => {
                if let Some(bank_consent) = bank_consent(&state.stage) {
                    state.stage = ConsentStage::RevokedByPsu { bank_consent };
                }
            }
            ConsentEvent::ConsentRejected { .. } => {
                state.stage = ConsentStage::Rejected {
                    bank_consent: bank_consent(&state.stage),
                }
            }
            ConsentEvent::ConsentExpired { cause } => {
                state.stage = ConsentStage::Expired {
                    cause,
                    bank_consent: bank_consent(&state.stage),
                }
            }
            ConsentEvent::ConsentTerminatedByTpp => {
                state.stage = ConsentStage::TerminatedByTpp {
                    bank_consent: bank_consent(&state.stage),
                }
            }
            ConsentEvent::RenewalLinked { renewed_by } => state.renewed_by = Some(renewed_by),
            ConsentEvent::UnattendedAccessCounted { day, resources } => {
                if state.access_day != Some(day) {
                    state.access_day = Some(day);
                    state.accesses.clear();
                }
                for resource in resources {
                    *state.accesses.entry(resource).or_default() += 1;
                }
            }
            ConsentEvent::BankAskedToWait { until } => state.wait_until = Some(until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sca::ScaApproach;

    fn folded(events: Vec<ConsentEvent>) -> ConsentState {
        let mut consent = Consent::default();
        for event in events {
            consent.apply(event);
        }
        consent.state.expect("requested")
    }

    fn requested() -> ConsentEvent {
        ConsentEvent::ConsentRequested(ConsentRequest {
            tenant: TenantId::new(),
            user: UserId::new(),
            bank: BankId::parse("seb").expect("bank"),
            access: ConsentAccess::AllPsd2,
            recurring_indicator: true,
            valid_until: NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
            frequency_per_day: 4,
            renewal_of: None,
        })
    }

    fn recorded() -> ConsentEvent {
        ConsentEvent::BankConsentRecorded {
            bank_consent_id: "seb-1".into(),
            sca: ScaLinks {
                approach: Some(ScaApproach::Redirect),
                redirect_url: Some("https://bank.example/sca/seb-1".into()),
                ..ScaLinks::default()
            },
        }
    }

    #[test]
    fn the_stage_says_whether_the_bank_has_the_consent() {
        let pending = folded(vec![requested()]);
        assert_eq!(pending.stage, ConsentStage::Requested);
        assert_eq!(pending.status(), ConsentStatus::Received);
        // Audits print the state as JSON: the stage is named as in docs/events.md, tagged like the events.
        assert_eq!(
            serde_json::to_value(&pending.stage).unwrap(),
            serde_json::json!("requested")
        );

        let awaiting = folded(vec![requested(), recorded()]);
        assert_eq!(awaiting.status(), ConsentStatus::Received);
        let ConsentStage::AwaitingAuthorisation { bank_consent } = &awaiting.stage else {
            panic!("{:?}", awaiting.stage);
        };
        assert_eq!(bank_consent.id, "seb-1");
        assert!(
            bank_consent.sca.redirect_url.is_some(),
            "the user's way to the bank is in the stage"
        );
    }

    #[test]
    fn final_stages_keep_the_bank_consent_they_had() {
        let expired = folded(vec![
            requested(),
            recorded(),
            ConsentEvent::ConsentAuthorised,
            ConsentEvent::ConsentExpired {
                cause: ExpiryCause::BankReportedExpired,
            },
        ]);
        assert!(matches!(
            &expired.stage,
            ConsentStage::Expired {
                cause: ExpiryCause::BankReportedExpired,
                bank_consent: Some(b),
            } if b.id == "seb-1"
        ));
        let rejected_early = folded(vec![requested(), ConsentEvent::ConsentRejected { reason: "no".into() }]);
        assert_eq!(rejected_early.stage, ConsentStage::Rejected { bank_consent: None });
    }

    #[test]
    fn bank_reads_name_what_they_need() {
        let pending = folded(vec![requested()]);
        let err = pending.bank_consent_for(BankConsentUse::ReadStatus).unwrap_err();
        assert_eq!(
            err,
            ConsentError::NotAtBank {
                purpose: BankConsentUse::ReadStatus
            }
        );
        assert!(err
            .to_string()
            .starts_with("reading the consent's status at the bank needs"));

        let awaiting = folded(vec![requested(), recorded()]);
        assert_eq!(
            awaiting.bank_consent_for(BankConsentUse::ReadStatus).unwrap().id,
            "seb-1"
        );
        let err = awaiting.bank_consent_for(BankConsentUse::ReadAccountData).unwrap_err();
        assert_eq!(
            err.to_string(),
            "reading account data needs a valid consent; this one is received"
        );

        let valid = folded(vec![requested(), recorded(), ConsentEvent::ConsentAuthorised]);
        assert_eq!(
            valid.bank_consent_for(BankConsentUse::ReadAccountData).unwrap().id,
            "seb-1"
        );
        let revoked = folded(vec![
            requested(),
            recorded(),
            ConsentEvent::ConsentAuthorised,
            ConsentEvent::ConsentRevokedByPsu,
        ]);
        assert_eq!(
            revoked.bank_consent_for(BankConsentUse::ReadStatus).unwrap().id,
            "seb-1"
        );
        assert!(matches!(
            revoked.bank_consent_for(BankConsentUse::ReadAccountData),
            Err(ConsentError::NotValid {
                status: ConsentStatus::RevokedByPsu,
                ..
            })
        ));
    }

    struct At(DateTime<Utc>);

    impl Clock for At {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[test]
    fn a_bank_that_asked_to_wait_gets_no_unattended_access_until_then() {
        let mut consent = Consent::default();
        for event in [requested(), recorded(), ConsentEvent::ConsentAuthorised] {
            consent.apply(event);
        }
        let noon = NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .expect("time")
            .and_utc();
        let until = noon + chrono::Duration::seconds(120);
        let wait = ConsentCommand::WaitForBank { until };
        let events = consent.decide(wait.clone(), &At(noon)).unwrap();
        assert_eq!(events, vec![ConsentEvent::BankAskedToWait { until }]);
        for event in events {
            consent.apply(event);
        }
        assert!(
            consent.decide(wait, &At(noon)).unwrap().is_empty(),
            "a known wait is not stored twice"
        );
        let earlier = ConsentCommand::WaitForBank {
            until: noon + chrono::Duration::seconds(5),
        };
        assert!(
            consent.decide(earlier, &At(noon)).unwrap().is_empty(),
            "a shorter wait changes nothing"
        );

        let count = ConsentCommand::CountUnattendedAccess {
            resources: vec!["accounts".into()],
        };
        assert_eq!(
            consent.decide(count.clone(), &At(noon + chrono::Duration::seconds(119))),
            Err(ConsentError::BankAskedToWait { until })
        );
        assert_eq!(consent.decide(count, &At(until)).unwrap().len(), 1);
    }
}
