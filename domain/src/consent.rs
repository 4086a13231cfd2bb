//! The Consent aggregate: one PSD2 account-information consent of one user at one bank, from the request to a
//! final state. Reads top to bottom: commands, events, state, decide (`handle`), evolve (`apply`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
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
    /// Requested, waiting for the user's authorisation.
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

/// A requested consent. `Consent::default()` (no `state`) is a consent not yet requested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentState {
    pub status: ConsentStatus,
    pub request: ConsentRequest,
    pub bank_consent_id: Option<String>,
    pub sca: ScaLinks,
    pub renewed_by: Option<ConsentId>,
    pub expiry_cause: Option<ExpiryCause>,
    /// The unattended accesses of `access_day` per resource; older days are dropped.
    pub access_day: Option<NaiveDate>,
    pub accesses: BTreeMap<String, u8>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub state: Option<ConsentState>,
}

impl Consent {
    pub fn status(&self) -> Option<ConsentStatus> {
        self.state.as_ref().map(|s| s.status)
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
        let status = state.status;
        if status.is_final() {
            return Err(ConsentError::Final(status));
        }
        let not_allowed = |command: &ConsentCommand| ConsentError::NotAllowed {
            command: command.name(),
            status,
        };
        use ConsentStatus::{Received, Valid};
        match (&command, status) {
            (ConsentCommand::Request(_), _) => Err(ConsentError::AlreadyRequested),
            (ConsentCommand::RecordBankConsent { bank_consent_id, sca }, Received)
                if state.bank_consent_id.is_none() =>
            {
                if bank_consent_id.trim().is_empty() {
                    return Err(ConsentError::InvalidField(FieldError::new("consentId", "is empty")));
                }
                Ok(vec![ConsentEvent::BankConsentRecorded {
                    bank_consent_id: bank_consent_id.clone(),
                    sca: sca.clone(),
                }])
            }
            (ConsentCommand::Authorise, Received) => match state.bank_consent_id {
                Some(_) => Ok(vec![ConsentEvent::ConsentAuthorised]),
                None => Err(ConsentError::BankConsentMissing {
                    command: command.name(),
                }),
            },
            (ConsentCommand::Reject { reason }, Received) => {
                Ok(vec![ConsentEvent::ConsentRejected { reason: reason.clone() }])
            }
            (ConsentCommand::Expire { cause }, _) => {
                let valid_until = state.request.valid_until;
                if *cause == ExpiryCause::ValidUntilPassed && today <= valid_until {
                    return Err(ConsentError::NotYetExpired { valid_until, today });
                }
                Ok(vec![ConsentEvent::ConsentExpired { cause: *cause }])
            }
            (ConsentCommand::Revoke { by: RevokedBy::Psu }, Valid) => Ok(vec![ConsentEvent::ConsentRevokedByPsu]),
            (ConsentCommand::Revoke { by: RevokedBy::Tpp }, _) => Ok(vec![ConsentEvent::ConsentTerminatedByTpp]),
            (ConsentCommand::LinkRenewal { renewed_by }, Valid) if state.renewed_by.is_none() => {
                Ok(vec![ConsentEvent::RenewalLinked {
                    renewed_by: *renewed_by,
                }])
            }
            (ConsentCommand::CountUnattendedAccess { resources }, Valid) => {
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
                status: ConsentStatus::Received,
                request,
                bank_consent_id: None,
                sca: ScaLinks::default(),
                renewed_by: None,
                expiry_cause: None,
                access_day: None,
                accesses: BTreeMap::new(),
            });
            return;
        }
        // Events only exist for a requested consent; a stray one on an empty aggregate changes nothing.
        let Some(state) = self.state.as_mut() else {
            return;
        };
        match event {
            ConsentEvent::ConsentRequested(_) => {}
            ConsentEvent::BankConsentRecorded { bank_consent_id, sca } => {
                state.bank_consent_id = Some(bank_consent_id);
                state.sca = sca;
            }
            ConsentEvent::ConsentAuthorised => state.status = ConsentStatus::Valid,
            ConsentEvent::ConsentRejected { .. } => state.status = ConsentStatus::Rejected,
            ConsentEvent::ConsentExpired { cause } => {
                state.status = ConsentStatus::Expired;
                state.expiry_cause = Some(cause);
            }
            ConsentEvent::ConsentRevokedByPsu => state.status = ConsentStatus::RevokedByPsu,
            ConsentEvent::ConsentTerminatedByTpp => state.status = ConsentStatus::TerminatedByTpp,
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
        }
    }
}
