//! The JSON bodies of Berlin Group NextGenPSD2 1.3.12 as the client sends and reads them, and their mapping to
//! the bank port's domain types. Anything a bank sends that does not fit becomes `BankError::Malformed`; the lists
//! of account information (accounts, balances, transactions) are read entry by entry by `reader`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use consentry_domain::bank::{BankError, ConsentCreation, ConsentDetails, PaymentDetails, PaymentInitiation};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::payment::TransactionStatus;
use consentry_domain::sca::{ScaApproach, ScaLinks, ScaStatus};
use consentry_domain::{Iban, Money};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Href {
    pub href: String,
}

pub(crate) type Links = BTreeMap<String, Href>;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AccountReference {
    pub iban: Option<Iban>,
}

fn account_reference(iban: &Iban) -> Value {
    json!({ "iban": iban.as_str() })
}

pub(crate) fn consent_body(request: &ConsentCreation) -> Value {
    json!({
        "access": access_body(&request.access),
        "recurringIndicator": request.recurring_indicator,
        "validUntil": request.valid_until.to_string(),
        "frequencyPerDay": request.frequency_per_day,
        "combinedServiceIndicator": request.combined_service_indicator,
    })
}

fn access_body(access: &ConsentAccess) -> Value {
    match access {
        ConsentAccess::AllPsd2 => json!({ "allPsd2": "allAccounts" }),
        ConsentAccess::AvailableAccounts => json!({ "availableAccounts": "allAccounts" }),
        ConsentAccess::Dedicated {
            accounts,
            balances,
            transactions,
        } => {
            let list = |ibans: &Vec<Iban>| Value::Array(ibans.iter().map(account_reference).collect());
            json!({ "accounts": list(accounts), "balances": list(balances), "transactions": list(transactions) })
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessWire {
    all_psd2: Option<String>,
    available_accounts: Option<String>,
    #[serde(default)]
    accounts: Vec<AccountReference>,
    #[serde(default)]
    balances: Vec<AccountReference>,
    #[serde(default)]
    transactions: Vec<AccountReference>,
}

impl AccessWire {
    fn into_domain(self) -> ConsentAccess {
        if self.all_psd2.is_some() {
            return ConsentAccess::AllPsd2;
        }
        if self.available_accounts.is_some() {
            return ConsentAccess::AvailableAccounts;
        }
        let ibans = |refs: Vec<AccountReference>| refs.into_iter().filter_map(|r| r.iban).collect();
        ConsentAccess::Dedicated {
            accounts: ibans(self.accounts),
            balances: ibans(self.balances),
            transactions: ibans(self.transactions),
        }
    }
}

/// `partiallyAuthorised` (multi-level SCA) still waits for authorisations, so Consentry reads it as `received`.
pub(crate) fn consent_status(code: &str) -> Result<ConsentStatus, BankError> {
    Ok(match code {
        "received" | "partiallyAuthorised" => ConsentStatus::Received,
        "valid" => ConsentStatus::Valid,
        "rejected" => ConsentStatus::Rejected,
        "expired" => ConsentStatus::Expired,
        "revokedByPsu" => ConsentStatus::RevokedByPsu,
        "terminatedByTpp" => ConsentStatus::TerminatedByTpp,
        other => return Err(BankError::Malformed(format!("consentStatus {other:?}"))),
    })
}

pub(crate) fn sca_status(code: &str) -> Result<ScaStatus, BankError> {
    serde_json::from_value(Value::String(code.to_owned()))
        .map_err(|_| BankError::Malformed(format!("scaStatus {code:?}")))
}

pub(crate) fn transaction_status(code: &str) -> Result<TransactionStatus, BankError> {
    TransactionStatus::parse(code).map_err(|e| BankError::Malformed(e.to_string()))
}

/// The SCA links of a consent, payment or authorisation answer, plus the approach the bank chose.
pub(crate) fn sca_links(links: &Links, approach_header: Option<&str>) -> ScaLinks {
    let href = |key: &str| links.get(key).map(|h| h.href.clone());
    ScaLinks {
        approach: approach_header.and_then(|a| match a.trim().to_ascii_uppercase().as_str() {
            "REDIRECT" => Some(ScaApproach::Redirect),
            "DECOUPLED" => Some(ScaApproach::Decoupled),
            "EMBEDDED" => Some(ScaApproach::Embedded),
            "OAUTH" => Some(ScaApproach::Oauth),
            _ => None,
        }),
        redirect_url: href("scaRedirect").or_else(|| href("scaOAuth")),
        sca_status_url: href("scaStatus"),
        start_authorisation_url: links
            .iter()
            .find(|(key, _)| key.starts_with("startAuthorisation"))
            .map(|(_, h)| h.href.clone()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentCreatedWire {
    pub consent_status: String,
    pub consent_id: String,
    #[serde(rename = "_links", default)]
    pub links: Links,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentStatusWire {
    pub consent_status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentWire {
    access: AccessWire,
    recurring_indicator: bool,
    valid_until: NaiveDate,
    frequency_per_day: u8,
    last_action_date: Option<NaiveDate>,
    consent_status: String,
}

impl ConsentWire {
    pub fn into_domain(self) -> Result<ConsentDetails, BankError> {
        Ok(ConsentDetails {
            access: self.access.into_domain(),
            recurring_indicator: self.recurring_indicator,
            valid_until: self.valid_until,
            frequency_per_day: self.frequency_per_day,
            last_action_date: self.last_action_date,
            status: consent_status(&self.consent_status)?,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthorisationWire {
    pub sca_status: String,
    pub authorisation_id: String,
    #[serde(rename = "_links", default)]
    pub links: Links,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScaStatusWire {
    pub sca_status: String,
}

pub(crate) fn payment_body(request: &PaymentInitiation) -> Value {
    let mut body = json!({
        "endToEndIdentification": request.end_to_end_id,
        "debtorAccount": account_reference(&request.debtor),
        "instructedAmount": request.instructed_amount,
        "creditorAccount": account_reference(&request.creditor),
        "creditorName": request.creditor_name,
    });
    if let (Some(text), Some(map)) = (&request.remittance_information, body.as_object_mut()) {
        map.insert("remittanceInformationUnstructured".into(), Value::String(text.clone()));
    }
    body
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentCreatedWire {
    pub transaction_status: String,
    pub payment_id: String,
    #[serde(rename = "_links", default)]
    pub links: Links,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentStatusWire {
    pub transaction_status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancellationWire {
    pub transaction_status: String,
    #[serde(rename = "_links", default)]
    pub links: Links,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentWire {
    end_to_end_identification: Option<String>,
    debtor_account: AccountReference,
    instructed_amount: Money,
    creditor_account: AccountReference,
    creditor_name: String,
    transaction_status: Option<String>,
}

impl PaymentWire {
    pub fn into_domain(self) -> Result<PaymentDetails, BankError> {
        Ok(PaymentDetails {
            debtor: self.debtor_account.iban,
            creditor: self.creditor_account.iban,
            creditor_name: self.creditor_name,
            instructed_amount: self.instructed_amount,
            end_to_end_id: self.end_to_end_identification,
            status: self.transaction_status.as_deref().map(transaction_status).transpose()?,
        })
    }
}
