//! The AccountData aggregate: what the bank told Consentry through one consent — its accounts, their balances
//! and transactions — and when. One per consent (same id). It turns raw bank answers into facts without
//! duplicates: a transaction seen again stores nothing, a pending transaction later booked under a new id is
//! matched to it (amount, dates, counterparty), and a pending one that disappears is marked, never deleted.
//! Reads top to bottom: commands, events, state, decide, evolve.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use crate::bank::{Balance, BankAccount, BankTransaction};
use crate::{AccountCurrency, ConsentId, Iban, Money};

/// How many days a pending transaction may wait for its booking and still be matched to it.
pub const PENDING_MATCH_DAYS: i64 = 10;

// ---------------------------------------------------------------------------------------------------------
// Commands

#[derive(Debug, Clone, PartialEq)]
pub enum AccountDataCommand {
    RecordAccounts {
        consent: ConsentId,
        accounts: Vec<BankAccount>,
    },
    RecordBalances {
        account: String,
        balances: Vec<Balance>,
    },
    /// A transaction report for `date_from..=date_to`; `includes_pending` when bookingStatus was `both`, so
    /// that a pending transaction missing from it has really vanished.
    RecordTransactions {
        account: String,
        date_from: NaiveDate,
        date_to: NaiveDate,
        includes_pending: bool,
        booked: Vec<BankTransaction>,
        pending: Vec<BankTransaction>,
    },
}

// ---------------------------------------------------------------------------------------------------------
// Events

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedAccount {
    pub resource_id: String,
    pub iban: Option<Iban>,
    pub currency: AccountCurrency,
    pub name: Option<String>,
    pub product: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedBalance {
    pub balance_type: String,
    pub amount: Money,
    pub reference_date: Option<NaiveDate>,
}

/// A transaction as the bank reported it, with the id Consentry knows it by: the bank's transactionId, or a
/// fingerprint of its content when the bank gives none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedTransaction {
    pub id: String,
    pub entry_reference: Option<String>,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    pub amount: Money,
    pub counterparty_name: Option<String>,
    /// As the bank sent it, not validated.
    pub counterparty_iban: Option<String>,
    pub remittance_information: Option<String>,
    pub bank_transaction_code: Option<String>,
}

impl ObservedTransaction {
    pub fn from_bank(transaction: &BankTransaction) -> Self {
        // The counterparty is the creditor of a debit and the debtor of a credit.
        let debit = transaction.amount.amount().is_sign_negative();
        let (name, iban) = if debit {
            (transaction.creditor_name.clone(), transaction.creditor_iban.clone())
        } else {
            (transaction.debtor_name.clone(), transaction.debtor_iban.clone())
        };
        let id = transaction
            .transaction_id
            .clone()
            .unwrap_or_else(|| fingerprint(transaction));
        Self {
            id,
            entry_reference: transaction.entry_reference.clone(),
            booking_date: transaction.booking_date,
            value_date: transaction.value_date,
            amount: transaction.amount,
            counterparty_name: name,
            counterparty_iban: iban,
            remittance_information: transaction.remittance_information.clone(),
            bank_transaction_code: transaction.bank_transaction_code.clone(),
        }
    }

    /// The day the transaction happened: booking date, else value date.
    pub fn date(&self) -> Option<NaiveDate> {
        self.booking_date.or(self.value_date)
    }

    /// The text the categoriser reads: counterparty and remittance information.
    pub fn description(&self) -> String {
        [
            self.counterparty_name.as_deref(),
            self.remittance_information.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// A stable id for a transaction without a bank id: FNV-1a over its content (stable across Rust versions,
/// unlike the standard hasher).
fn fingerprint(transaction: &BankTransaction) -> String {
    let content = format!(
        "{:?}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
        transaction.entry_reference,
        transaction.booking_date,
        transaction.value_date,
        transaction.amount,
        transaction.creditor_name,
        transaction.debtor_name,
        transaction.remittance_information
    );
    let hash = content.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("fp-{hash:016x}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountDataEvent {
    #[serde(rename_all = "camelCase")]
    AccountsObserved {
        consent: ConsentId,
        accounts: Vec<ObservedAccount>,
    },
    #[serde(rename_all = "camelCase")]
    BalancesObserved {
        account: String,
        balances: Vec<ObservedBalance>,
    },
    /// One transaction report, reduced to what was new in it: booked transactions not seen before, pending ones
    /// not seen before, pending ones now booked under a different id (`booked_pending`), and pending ones that
    /// disappeared without being booked (a released card hold, say). A report with nothing new stores nothing.
    #[serde(rename_all = "camelCase")]
    TransactionsObserved {
        account: String,
        date_from: NaiveDate,
        date_to: NaiveDate,
        booked: Vec<ObservedTransaction>,
        pending: Vec<ObservedTransaction>,
        booked_pending: Vec<PendingBooking>,
        vanished: Vec<String>,
    },
}

/// A pending transaction and the booked transaction that replaced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingBooking {
    pub pending_id: String,
    pub booked: ObservedTransaction,
}

impl DomainEvent for AccountDataEvent {
    fn event_type(&self) -> String {
        let name = match self {
            Self::AccountsObserved { .. } => "AccountsObserved",
            Self::BalancesObserved { .. } => "BalancesObserved",
            Self::TransactionsObserved { .. } => "TransactionsObserved",
        };
        name.to_owned()
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

// ---------------------------------------------------------------------------------------------------------
// State

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountLedger {
    pub booked: BTreeSet<String>,
    pub pending: BTreeMap<String, ObservedTransaction>,
    pub balances: Vec<ObservedBalance>,
    /// The latest booking date seen: incremental syncs start from it, less an overlap.
    pub last_booked: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    pub consent: Option<ConsentId>,
    pub accounts: Vec<ObservedAccount>,
    pub ledgers: BTreeMap<String, AccountLedger>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountDataError {
    #[error("account {0} was not in the bank's account list")]
    UnknownAccount(String),
    #[error("the account list has not been recorded yet")]
    NoAccounts,
}

// ---------------------------------------------------------------------------------------------------------
// Decide

/// Whether `booked` is the booking of `pending`: same amount, same counterparty (when both name one), and
/// booked on or up to `PENDING_MATCH_DAYS` after the pending date. A shared entryReference settles it.
fn books(pending: &ObservedTransaction, booked: &ObservedTransaction) -> bool {
    if pending.entry_reference.is_some() && pending.entry_reference == booked.entry_reference {
        return pending.amount == booked.amount;
    }
    let same_counterparty = match (&pending.counterparty_name, &booked.counterparty_name) {
        (Some(a), Some(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
        _ => pending.counterparty_iban == booked.counterparty_iban,
    };
    let close_in_time = match (pending.date(), booked.date()) {
        (Some(p), Some(b)) => (0..=PENDING_MATCH_DAYS).contains(&(b - p).num_days()),
        _ => false,
    };
    pending.amount == booked.amount && same_counterparty && close_in_time
}

impl AccountData {
    pub fn ledger(&self, account: &str) -> Option<&AccountLedger> {
        self.ledgers.get(account)
    }

    pub fn decide(&self, command: AccountDataCommand) -> Result<Vec<AccountDataEvent>, AccountDataError> {
        match command {
            AccountDataCommand::RecordAccounts { consent, accounts } => {
                let accounts: Vec<ObservedAccount> = accounts
                    .into_iter()
                    .map(|a| ObservedAccount {
                        resource_id: a.resource_id,
                        iban: a.iban,
                        currency: a.currency,
                        name: a.name,
                        product: a.product,
                    })
                    .collect();
                if self.consent == Some(consent) && accounts == self.accounts {
                    return Ok(vec![]);
                }
                Ok(vec![AccountDataEvent::AccountsObserved { consent, accounts }])
            }
            AccountDataCommand::RecordBalances { account, balances } => {
                let ledger = self.known(&account)?;
                let balances: Vec<ObservedBalance> = balances
                    .into_iter()
                    .map(|b| ObservedBalance {
                        balance_type: b.balance_type.as_str().to_owned(),
                        amount: b.amount,
                        reference_date: b.reference_date,
                    })
                    .collect();
                if ledger.is_some_and(|l| l.balances == balances) {
                    return Ok(vec![]);
                }
                Ok(vec![AccountDataEvent::BalancesObserved { account, balances }])
            }
            AccountDataCommand::RecordTransactions {
                account,
                date_from,
                date_to,
                includes_pending,
                booked,
                pending,
            } => {
                let empty = AccountLedger::default();
                let ledger = self.known(&account)?.unwrap_or(&empty);
                Ok(transactions(
                    &account,
                    ledger,
                    date_from,
                    date_to,
                    includes_pending,
                    &booked,
                    &pending,
                ))
            }
        }
    }

    /// The ledger of an account of the recorded list (`None` while nothing was recorded for it yet).
    fn known(&self, account: &str) -> Result<Option<&AccountLedger>, AccountDataError> {
        if self.accounts.is_empty() {
            return Err(AccountDataError::NoAccounts);
        }
        if !self.accounts.iter().any(|a| a.resource_id == account) {
            return Err(AccountDataError::UnknownAccount(account.to_owned()));
        }
        Ok(self.ledgers.get(account))
    }
}

fn transactions(
    account: &str,
    ledger: &AccountLedger,
    date_from: NaiveDate,
    date_to: NaiveDate,
    includes_pending: bool,
    booked: &[BankTransaction],
    pending: &[BankTransaction],
) -> Vec<AccountDataEvent> {
    let mut open_pending = ledger.pending.clone();
    let mut seen_booked: BTreeSet<String> = ledger.booked.clone();
    let (mut new_booked, mut booked_pending, mut new_pending, mut vanished) = (vec![], vec![], vec![], vec![]);
    for transaction in booked.iter().map(ObservedTransaction::from_bank) {
        if !seen_booked.insert(transaction.id.clone()) {
            continue;
        }
        // The same id once pending, or a pending one it books under a new id.
        let matched = open_pending.get(&transaction.id).map(|p| p.id.clone()).or_else(|| {
            open_pending
                .values()
                .find(|p| books(p, &transaction))
                .map(|p| p.id.clone())
        });
        match matched {
            Some(pending_id) => {
                open_pending.remove(&pending_id);
                booked_pending.push(PendingBooking {
                    pending_id,
                    booked: transaction,
                });
            }
            None => new_booked.push(transaction),
        }
    }
    let reported: BTreeSet<String> = pending.iter().map(|t| ObservedTransaction::from_bank(t).id).collect();
    for transaction in pending.iter().map(ObservedTransaction::from_bank) {
        if open_pending.contains_key(&transaction.id) || seen_booked.contains(&transaction.id) {
            continue;
        }
        open_pending.insert(transaction.id.clone(), transaction.clone());
        new_pending.push(transaction);
    }
    if includes_pending {
        for (pending_id, transaction) in &ledger.pending {
            let in_period = transaction.date().is_some_and(|d| d >= date_from && d <= date_to);
            if in_period && open_pending.contains_key(pending_id) && !reported.contains(pending_id) {
                vanished.push(pending_id.clone());
            }
        }
    }
    if new_booked.is_empty() && booked_pending.is_empty() && new_pending.is_empty() && vanished.is_empty() {
        return vec![];
    }
    vec![AccountDataEvent::TransactionsObserved {
        account: account.to_owned(),
        date_from,
        date_to,
        booked: new_booked,
        pending: new_pending,
        booked_pending,
        vanished,
    }]
}

impl Aggregate for AccountData {
    const TYPE: &'static str = "AccountData";
    type Command = AccountDataCommand;
    type Event = AccountDataEvent;
    type Error = AccountDataError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------------------
    // Evolve

    fn apply(&mut self, event: Self::Event) {
        match event {
            AccountDataEvent::AccountsObserved { consent, accounts } => {
                self.consent = Some(consent);
                self.accounts = accounts;
            }
            AccountDataEvent::BalancesObserved { account, balances } => {
                self.ledgers.entry(account).or_default().balances = balances;
            }
            AccountDataEvent::TransactionsObserved {
                account,
                booked,
                pending,
                booked_pending,
                vanished,
                ..
            } => {
                let ledger = self.ledgers.entry(account).or_default();
                for transaction in booked {
                    book(ledger, transaction);
                }
                for PendingBooking { pending_id, booked } in booked_pending {
                    ledger.pending.remove(&pending_id);
                    book(ledger, booked);
                }
                for transaction in pending {
                    ledger.pending.insert(transaction.id.clone(), transaction);
                }
                for pending_id in vanished {
                    ledger.pending.remove(&pending_id);
                }
            }
        }
    }
}

fn book(ledger: &mut AccountLedger, transaction: ObservedTransaction) {
    ledger.last_booked = ledger.last_booked.max(transaction.booking_date);
    ledger.booked.insert(transaction.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("valid day")
    }

    fn tx(id: Option<&str>, booked: u32, amount: &str, creditor: &str) -> BankTransaction {
        BankTransaction {
            transaction_id: id.map(str::to_owned),
            entry_reference: None,
            booking_date: Some(day(booked)),
            value_date: Some(day(booked)),
            amount: Money::parse("amount", amount, "EUR").expect("amount"),
            creditor_name: Some(creditor.to_owned()),
            creditor_iban: None,
            debtor_name: None,
            debtor_iban: None,
            remittance_information: Some("card payment".into()),
            bank_transaction_code: None,
            end_to_end_id: None,
        }
    }

    fn with_account() -> AccountData {
        let mut data = AccountData::default();
        let account = BankAccount {
            resource_id: "acc-1".into(),
            iban: None,
            currency: crate::Currency::EUR.into(),
            name: None,
            product: None,
            cash_account_type: None,
        };
        for event in data
            .decide(AccountDataCommand::RecordAccounts {
                consent: ConsentId::new(),
                accounts: vec![account],
            })
            .expect("accounts")
        {
            data.apply(event);
        }
        data
    }

    fn record(
        data: &mut AccountData,
        booked: Vec<BankTransaction>,
        pending: Vec<BankTransaction>,
    ) -> Vec<AccountDataEvent> {
        let command = AccountDataCommand::RecordTransactions {
            account: "acc-1".into(),
            date_from: day(1),
            date_to: day(31),
            includes_pending: true,
            booked,
            pending,
        };
        let events = data.decide(command).expect("transactions");
        for event in events.clone() {
            data.apply(event);
        }
        events
    }

    #[test]
    fn fetching_the_same_period_again_stores_nothing() {
        let mut data = with_account();
        let booked = vec![tx(Some("t1"), 2, "-10.00", "Rimi"), tx(None, 3, "-4.20", "Wolt")];
        assert!(
            matches!(&record(&mut data, booked.clone(), vec![])[..], [AccountDataEvent::TransactionsObserved { booked, .. }] if booked.len() == 2)
        );
        assert!(record(&mut data, booked, vec![]).is_empty());
        assert_eq!(data.ledger("acc-1").expect("ledger").last_booked, Some(day(3)));
    }

    #[test]
    fn a_pending_transaction_booked_under_a_new_id_is_matched_not_duplicated() {
        let mut data = with_account();
        record(&mut data, vec![], vec![tx(Some("p-9"), 5, "-23.10", "MAXIMA LT")]);
        let events = record(&mut data, vec![tx(Some("b-77"), 7, "-23.10", "Maxima LT")], vec![]);
        let [AccountDataEvent::TransactionsObserved {
            booked, booked_pending, ..
        }] = &events[..]
        else {
            panic!("one observation expected: {events:?}");
        };
        assert!(booked.is_empty());
        assert_eq!(
            booked_pending.iter().map(|b| b.pending_id.as_str()).collect::<Vec<_>>(),
            ["p-9"]
        );
        assert!(data.ledger("acc-1").expect("ledger").pending.is_empty());
    }

    #[test]
    fn a_pending_transaction_that_disappears_is_marked_vanished() {
        let mut data = with_account();
        record(&mut data, vec![], vec![tx(Some("hold-1"), 5, "-50.00", "Hotel")]);
        let events = record(&mut data, vec![], vec![]);
        let [AccountDataEvent::TransactionsObserved { vanished, .. }] = &events[..] else {
            panic!("one observation expected: {events:?}");
        };
        assert_eq!(vanished, &["hold-1"]);
        assert!(record(&mut data, vec![], vec![]).is_empty());
    }

    #[test]
    fn different_amounts_or_late_bookings_are_not_matched() {
        let mut data = with_account();
        record(&mut data, vec![], vec![tx(Some("p-1"), 1, "-9.99", "Bolt")]);
        let events = record(
            &mut data,
            vec![
                tx(Some("b-1"), 2, "-10.99", "Bolt"),
                tx(Some("b-2"), 20, "-9.99", "Bolt"),
            ],
            vec![tx(Some("p-1"), 1, "-9.99", "Bolt")],
        );
        let [AccountDataEvent::TransactionsObserved {
            booked, booked_pending, ..
        }] = &events[..]
        else {
            panic!("one observation expected: {events:?}");
        };
        assert_eq!((booked.len(), booked_pending.len()), (2, 0));
    }

    #[test]
    fn transactions_for_an_unknown_account_are_refused() {
        let data = with_account();
        let command = AccountDataCommand::RecordBalances {
            account: "acc-x".into(),
            balances: vec![],
        };
        assert_eq!(
            data.decide(command),
            Err(AccountDataError::UnknownAccount("acc-x".into()))
        );
        assert_eq!(
            AccountData::default().decide(AccountDataCommand::RecordBalances {
                account: "a".into(),
                balances: vec![]
            }),
            Err(AccountDataError::NoAccounts)
        );
    }
}
