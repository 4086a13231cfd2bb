//! Entries of account, balance and transaction lists broken the ways real banks get them wrong, for a TPP's
//! tolerant reader to meet (`malformed_entry_rate` of [`super::Faults`]). Which entries break is a property of
//! the entry: seeded by bank, resource and the entry's own key, the same entry is broken on every read, as a
//! bad record at a bank stays bad. How it breaks rotates through [`Breakage`] along the list, skipping the ways
//! that do not apply to the entry. Every broken entry served is recorded for `/{bank}/admin/counters`.

use serde::Serialize;
use serde_json::{json, Value};

use super::data::{lithuanian_iban, Prng};

/// How an entry is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Breakage {
    /// The account's IBAN fails its mod-97 check.
    IbanChecksum,
    /// A currency code ISO 4217 does not have ("ABC").
    UnknownCurrency,
    /// An amount with three decimals in a currency that has two ("12.345").
    ThreeDecimals,
    /// An account without its `resourceId`.
    MissingResourceId,
    /// The counterparty's IBAN (creditorAccount of a debit, debtorAccount of a credit) fails its mod-97 check.
    /// Counterparty data is the bank's report of someone else's account: a TPP keeps it as sent.
    CounterpartyIbanChecksum,
    /// A field the spec requires is missing: an account's currency, a balance's balanceAmount, a transaction's
    /// transactionAmount.
    MissingRequiredField,
}

const ROTATION: [Breakage; 6] = [
    Breakage::IbanChecksum,
    Breakage::UnknownCurrency,
    Breakage::ThreeDecimals,
    Breakage::MissingResourceId,
    Breakage::CounterpartyIbanChecksum,
    Breakage::MissingRequiredField,
];

/// What sort of list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Account,
    Balance,
    Transaction,
}

/// One broken entry as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MalformedEntry {
    /// The resource path under `/v1/`: `accounts`, `accounts/{id}/balances`, `accounts/{id}/transactions`.
    pub resource: String,
    /// The list in the answer: `accounts`, `balances`, `booked` or `pending`.
    pub list: &'static str,
    /// The entry's position in that list.
    pub index: usize,
    /// The entry's id as served (an account's resourceId, a transaction's transactionId), else its index.
    pub entry: String,
    /// The broken field, as a path in the entry (`iban`, `transactionAmount.amount`, `creditorAccount.iban`).
    pub field: String,
    pub fault: Breakage,
}

/// Breaks a share of the entries of one answer.
pub(crate) struct Corrupter<'a> {
    bank: &'a str,
    resource: &'a str,
    rate: f64,
    rotation: usize,
    broken: Vec<MalformedEntry>,
}

impl<'a> Corrupter<'a> {
    pub fn new(bank: &'a str, resource: &'a str, rate: f64) -> Self {
        Self {
            bank,
            resource,
            rate,
            rotation: 0,
            broken: Vec::new(),
        }
    }

    /// Breaks the entries of `list` chosen by their `key`s (the entry's stable identity at the bank).
    pub fn list(&mut self, list: &'static str, kind: EntryKind, entries: &mut [Value], keys: &[String]) {
        if self.rate <= 0.0 {
            return;
        }
        for (index, (entry, key)) in entries.iter_mut().zip(keys).enumerate() {
            if Prng::seeded(&[self.bank, "malformed", self.resource, list, key]).unit() < self.rate {
                self.break_entry(list, index, kind, entry, key);
            }
        }
    }

    fn break_entry(&mut self, list: &'static str, index: usize, kind: EntryKind, entry: &mut Value, key: &str) {
        let Some((offset, breakage)) = (0..ROTATION.len())
            .map(|step| (step, ROTATION[(self.rotation + step) % ROTATION.len()]))
            .find(|(_, breakage)| applies(*breakage, kind, entry))
        else {
            return;
        };
        self.rotation += offset + 1;
        let field = apply(breakage, kind, entry, self.bank, key);
        let id_key = match kind {
            EntryKind::Account => Some("resourceId"),
            EntryKind::Transaction => Some("transactionId"),
            EntryKind::Balance => None,
        };
        let entry_id = id_key
            .and_then(|k| entry.get(k))
            .and_then(Value::as_str)
            .map_or_else(|| index.to_string(), str::to_owned);
        self.broken.push(MalformedEntry {
            resource: self.resource.to_owned(),
            list,
            index,
            entry: entry_id,
            field,
            fault: breakage,
        });
    }

    /// The entries broken so far.
    pub fn into_broken(self) -> Vec<MalformedEntry> {
        self.broken
    }
}

fn applies(breakage: Breakage, kind: EntryKind, entry: &Value) -> bool {
    match breakage {
        Breakage::IbanChecksum => kind == EntryKind::Account && entry.get("iban").is_some_and(Value::is_string),
        Breakage::UnknownCurrency | Breakage::MissingRequiredField => true,
        Breakage::ThreeDecimals => kind != EntryKind::Account,
        Breakage::MissingResourceId => kind == EntryKind::Account,
        Breakage::CounterpartyIbanChecksum => kind == EntryKind::Transaction,
    }
}

/// The amount object of a balance or transaction.
fn amount_key(kind: EntryKind) -> &'static str {
    if kind == EntryKind::Balance {
        "balanceAmount"
    } else {
        "transactionAmount"
    }
}

/// Breaks `entry` in place; answers the field broken.
fn apply(breakage: Breakage, kind: EntryKind, entry: &mut Value, bank: &str, key: &str) -> String {
    match breakage {
        Breakage::IbanChecksum => {
            let iban = entry["iban"].as_str().unwrap_or_default();
            entry["iban"] = json!(wrong_check_digits(iban));
            "iban".into()
        }
        Breakage::UnknownCurrency => {
            if kind == EntryKind::Account {
                entry["currency"] = json!("ABC");
                "currency".into()
            } else {
                let amount = amount_key(kind);
                entry[amount]["currency"] = json!("ABC");
                format!("{amount}.currency")
            }
        }
        Breakage::ThreeDecimals => {
            let amount = amount_key(kind);
            let value = entry[amount]["amount"].as_str().unwrap_or("0");
            let three = match value.split_once('.') {
                Some((whole, cents)) => format!("{whole}.{:0<2.2}5", cents),
                None => format!("{value}.005"),
            };
            entry[amount]["amount"] = json!(three);
            format!("{amount}.amount")
        }
        Breakage::MissingResourceId => {
            remove(entry, "resourceId");
            "resourceId".into()
        }
        Breakage::CounterpartyIbanChecksum => {
            let debit = entry["transactionAmount"]["amount"]
                .as_str()
                .is_some_and(|a| a.starts_with('-'));
            let side = if debit { "creditorAccount" } else { "debtorAccount" };
            let iban = match entry[side]["iban"].as_str() {
                Some(iban) => iban.to_owned(),
                None => lithuanian_iban(21400, Prng::seeded(&[bank, "counterparty", key]).next_u64())
                    .map(|i| i.as_str().to_owned())
                    .unwrap_or_else(|| "LT121000011101001000".into()),
            };
            entry[side] = json!({ "iban": wrong_check_digits(&iban) });
            format!("{side}.iban")
        }
        Breakage::MissingRequiredField => {
            let field = match kind {
                EntryKind::Account => "currency",
                other => amount_key(other),
            };
            remove(entry, field);
            field.into()
        }
    }
}

fn remove(entry: &mut Value, field: &str) {
    if let Some(object) = entry.as_object_mut() {
        object.remove(field);
    }
}

/// The IBAN with its check digits moved one up (98 down to 97): exactly one pair of check digits is right, so
/// the result fails mod-97 while keeping the IBAN's shape.
fn wrong_check_digits(iban: &str) -> String {
    let (country, rest) = iban.split_at(iban.len().min(2));
    let (digits, bban) = rest.split_at(rest.len().min(2));
    let check: u8 = digits.parse().unwrap_or(0);
    let wrong = if check >= 98 { 97 } else { check + 1 };
    format!("{country}{wrong:02}{bban}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use consentry_domain::Iban;

    #[test]
    fn broken_ibans_fail_the_checksum_and_keep_their_shape() {
        for n in 0..200u64 {
            let Some(iban) = lithuanian_iban(73000, n * 104_729) else {
                panic!("valid IBAN");
            };
            let broken = wrong_check_digits(iban.as_str());
            assert_eq!(broken.len(), iban.as_str().len());
            assert!(Iban::parse(&broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn every_way_of_breaking_is_used_and_recorded() {
        let transaction = |amount: &str| json!({ "transactionId": format!("T{amount}"), "transactionAmount": { "amount": amount, "currency": "EUR" } });
        let mut entries: Vec<Value> = ["-12.30", "45.00", "-7", "1.20"]
            .iter()
            .map(|a| transaction(a))
            .collect();
        let keys: Vec<String> = (0..entries.len()).map(|i| i.to_string()).collect();
        let mut corrupter = Corrupter::new("seb", "accounts/a/transactions", 1.0);
        corrupter.list("booked", EntryKind::Transaction, &mut entries, &keys);
        let broken = corrupter.into_broken();
        let faults: Vec<Breakage> = broken.iter().map(|b| b.fault).collect();
        assert_eq!(
            faults,
            [
                Breakage::UnknownCurrency,
                Breakage::ThreeDecimals,
                Breakage::CounterpartyIbanChecksum,
                Breakage::MissingRequiredField
            ]
        );
        assert_eq!(entries[0]["transactionAmount"]["currency"], "ABC");
        assert_eq!(entries[1]["transactionAmount"]["amount"], "45.005");
        assert!(Iban::parse(entries[2]["creditorAccount"]["iban"].as_str().unwrap()).is_err());
        assert!(entries[3].get("transactionAmount").is_none());
        assert_eq!(broken[2].field, "creditorAccount.iban");
        assert_eq!(broken[3].entry, "T1.20");

        let mut accounts = vec![
            json!({ "resourceId": "a", "iban": "LT601010012345678901", "currency": "EUR" }),
            json!({ "resourceId": "card", "maskedPan": "520000******0000", "currency": "EUR" }),
            json!({ "resourceId": "c", "iban": "LT601010012345678901", "currency": "EUR" }),
        ];
        let keys = ["a", "card", "c"].map(String::from);
        let mut corrupter = Corrupter::new("seb", "accounts", 1.0);
        corrupter.list("accounts", EntryKind::Account, &mut accounts, &keys);
        let broken = corrupter.into_broken();
        let summary: Vec<(&str, &str, Breakage)> = broken
            .iter()
            .map(|b| (b.entry.as_str(), b.field.as_str(), b.fault))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", "iban", Breakage::IbanChecksum),
                ("card", "currency", Breakage::UnknownCurrency),
                ("2", "resourceId", Breakage::MissingResourceId),
            ]
        );
        assert_eq!(accounts[0]["iban"], "LT611010012345678901");
    }

    #[test]
    fn the_same_entries_break_on_every_read_and_none_at_rate_zero() {
        let entries = || -> Vec<Value> {
            (0..100)
                .map(|i| json!({ "balanceAmount": { "amount": format!("{i}.00"), "currency": "EUR" }, "balanceType": "expected" }))
                .collect()
        };
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        let read = |rate: f64| {
            let mut list = entries();
            let mut corrupter = Corrupter::new("luminor", "accounts/x/balances", rate);
            corrupter.list("balances", EntryKind::Balance, &mut list, &keys);
            (list, corrupter.into_broken())
        };
        let (first, broken) = read(0.3);
        assert_eq!(read(0.3), (first, broken.clone()));
        assert!((15..=45).contains(&broken.len()), "about 30 of 100: {}", broken.len());
        let (untouched, none) = read(0.0);
        assert!(none.is_empty());
        assert_eq!(untouched, entries());
    }
}
