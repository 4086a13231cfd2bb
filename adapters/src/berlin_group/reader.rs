//! The tolerant reader of a bank's lists: accounts, balances and the pages of transactions. The answer's frame
//! (the JSON object, its list, its links) must parse, or the whole answer is `Malformed`; inside it, each entry is
//! read on its own. An entry that does not parse is kept out and described as an [`EntryProblem`] (which entry,
//! which field, why), and every entry around it is kept. Fields Consentry does not need are not looked at, so a
//! bank's extension or an optional field of the wrong shape there cannot hide an entry.

use chrono::NaiveDate;
use consentry_domain::bank::{Balance, BalanceType, BankAccount, BankError, BankTransaction, EntryProblem, Listing};
use consentry_domain::{AccountCurrency, Iban, Money};
use serde_json::{Map, Value};

use super::wire::Href;

/// What is wrong with one entry: the field (as the spec names it) and why.
struct Bad {
    field: String,
    problem: String,
}

impl Bad {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

impl From<consentry_domain::FieldError> for Bad {
    fn from(error: consentry_domain::FieldError) -> Self {
        Self {
            field: error.field,
            problem: error.problem,
        }
    }
}

/// One entry of a list: a JSON object whose fields are read one by one.
struct Entry<'a>(&'a Map<String, Value>);

impl<'a> Entry<'a> {
    /// A field that is absent or `null` is `None`; a string is `Some`; anything else is a bad entry.
    fn text(&self, field: &str) -> Result<Option<&'a str>, Bad> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(Bad::new(field, format!("is {}, not a string", kind(other)))),
        }
    }

    fn required_text(&self, field: &str) -> Result<&'a str, Bad> {
        match self.text(field)? {
            Some(text) if !text.trim().is_empty() => Ok(text),
            Some(_) => Err(Bad::new(field, "is empty")),
            None => Err(Bad::new(field, "is missing")),
        }
    }

    fn object(&self, field: &str) -> Result<Option<Entry<'a>>, Bad> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(Entry(object))),
            Some(other) => Err(Bad::new(field, format!("is {}, not an object", kind(other)))),
        }
    }

    fn date(&self, field: &str) -> Result<Option<NaiveDate>, Bad> {
        self.text(field)?
            .map(|text| {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|_| Bad::new(field, format!("{text:?} is not a date such as 2026-03-01")))
            })
            .transpose()
    }

    /// A Berlin Group amount object: `{"currency": "EUR", "amount": "12.34"}` (an amount sent as a JSON number
    /// is read by its text, so no binary float ever touches it).
    fn amount(&self, field: &str) -> Result<Money, Bad> {
        let object = self.object(field)?.ok_or_else(|| Bad::new(field, "is missing"))?;
        let currency = object
            .text("currency")
            .map_err(|bad| nested(field, bad))?
            .ok_or_else(|| Bad::new(&format!("{field}.currency"), "is missing"))?;
        let amount = match object.0.get("amount") {
            Some(Value::String(text)) => text.clone(),
            Some(Value::Number(number)) => number.to_string(),
            None | Some(Value::Null) => return Err(Bad::new(&format!("{field}.amount"), "is missing")),
            Some(other) => {
                return Err(Bad::new(
                    &format!("{field}.amount"),
                    format!("is {}, not a decimal amount", kind(other)),
                ))
            }
        };
        Ok(Money::parse(field, &amount, currency)?)
    }

    /// The IBAN of an account reference (`{"iban": …}`) as the bank sent it, unchecked: counterparty data is
    /// shown as it came, and only the account's own IBAN is validated.
    fn reference_iban(&self, field: &str) -> Result<Option<String>, Bad> {
        let Some(reference) = self.object(field)? else {
            return Ok(None);
        };
        Ok(reference
            .text("iban")
            .map_err(|bad| nested(field, bad))?
            .map(|iban| iban.trim().to_owned()))
    }
}

fn nested(parent: &str, bad: Bad) -> Bad {
    Bad {
        field: format!("{parent}.{}", bad.field),
        problem: bad.problem,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads every entry of `list` with `read`; `id` names an entry in a problem (else its place, `{label}[i]`).
fn read_list<T>(
    resource: &str,
    label: &str,
    list: &[Value],
    id: impl Fn(&Entry) -> Option<String>,
    read: impl Fn(&Entry) -> Result<T, Bad>,
) -> Listing<T> {
    let mut listing = Listing::default();
    for (index, value) in list.iter().enumerate() {
        let place = || format!("{label}[{index}]");
        let outcome = match value {
            Value::Object(object) => {
                let entry = Entry(object);
                read(&entry).map_err(|bad| (id(&entry).unwrap_or_else(place), bad))
            }
            other => Err((place(), Bad::new("", format!("is {}, not an object", kind(other))))),
        };
        match outcome {
            Ok(parsed) => listing.entries.push(parsed),
            Err((entry, bad)) => listing.problems.push(EntryProblem {
                resource: resource.to_owned(),
                entry,
                field: bad.field,
                problem: bad.problem,
            }),
        }
    }
    listing
}

/// The answer's body as a JSON object.
fn frame(body: &Value) -> Result<&Map<String, Value>, BankError> {
    body.as_object()
        .ok_or_else(|| BankError::Malformed(format!("the answer is {}, not an object", kind(body))))
}

/// The list under `key` (absent is empty).
fn list<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], BankError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(other) => Err(BankError::Malformed(format!(
            "`{key}` is {}, not an array",
            kind(other)
        ))),
    }
}

/// `GET /v1/accounts`.
pub(crate) fn accounts(body: &Value) -> Result<Listing<BankAccount>, BankError> {
    Ok(read_list(
        "accounts",
        "accounts",
        list(frame(body)?, "accounts")?,
        |entry| entry.text("resourceId").ok().flatten().map(str::to_owned),
        |entry| {
            let iban = entry
                .text("iban")?
                .map(|iban| Iban::parse_field("iban", iban))
                .transpose()?;
            Ok(BankAccount {
                resource_id: entry.required_text("resourceId")?.to_owned(),
                currency: AccountCurrency::parse_field("currency", entry.required_text("currency")?)?,
                iban,
                name: entry.text("name")?.map(str::to_owned),
                product: entry.text("product")?.map(str::to_owned),
                cash_account_type: entry.text("cashAccountType")?.map(str::to_owned),
            })
        },
    ))
}

/// `GET /v1/accounts/{id}/balances`. A `balanceType` outside the spec's list is a bank extension Consentry has
/// no meaning for: it is kept out and reported like any entry it cannot read.
pub(crate) fn balances(resource: &str, body: &Value) -> Result<Listing<Balance>, BankError> {
    Ok(read_list(
        resource,
        "balances",
        list(frame(body)?, "balances")?,
        |_| None,
        |entry| {
            let kind = entry.required_text("balanceType")?;
            let balance_type = BalanceType::parse(kind)
                .ok_or_else(|| Bad::new("balanceType", format!("{kind:?} is not a balance type of the spec")))?;
            Ok(Balance {
                balance_type,
                amount: entry.amount("balanceAmount")?,
                reference_date: entry.date("referenceDate")?,
            })
        },
    ))
}

/// One page of `GET /v1/accounts/{id}/transactions`: its booked and pending transactions, the problems, and
/// the `next` link, which banks put in the report's `_links` or the body's.
pub(crate) struct TransactionsPage {
    pub booked: Listing<BankTransaction>,
    pub pending: Listing<BankTransaction>,
    pub next: Option<String>,
}

pub(crate) fn transactions_page(resource: &str, body: &Value) -> Result<TransactionsPage, BankError> {
    let object = frame(body)?;
    let empty = Map::new();
    let report = match object.get("transactions") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(report)) => report,
        Some(other) => {
            return Err(BankError::Malformed(format!(
                "`transactions` is {}, not an object",
                kind(other)
            )))
        }
    };
    let (booked, pending) = (list(report, "booked")?, list(report, "pending")?);
    let next = next_link(report).or_else(|| next_link(object));
    Ok(TransactionsPage {
        booked: read_list(resource, "booked", booked, transaction_id, transaction),
        pending: read_list(resource, "pending", pending, transaction_id, transaction),
        next: next.transpose()?,
    })
}

/// `_links.next.href`, when there is a `next`.
fn next_link(object: &Map<String, Value>) -> Option<Result<String, BankError>> {
    let links = object.get("_links")?;
    let next = links.get("next")?;
    Some(
        serde_json::from_value::<Href>(next.clone())
            .map(|href| href.href)
            .map_err(|e| BankError::Malformed(format!("_links.next: {e}"))),
    )
}

fn transaction_id(entry: &Entry) -> Option<String> {
    ["transactionId", "entryReference"]
        .into_iter()
        .find_map(|field| entry.text(field).ok().flatten().map(str::to_owned))
}

fn transaction(entry: &Entry) -> Result<BankTransaction, Bad> {
    let text = |field: &str| entry.text(field).map(|t| t.map(str::to_owned));
    Ok(BankTransaction {
        transaction_id: text("transactionId")?,
        entry_reference: text("entryReference")?,
        booking_date: entry.date("bookingDate")?,
        value_date: entry.date("valueDate")?,
        amount: entry.amount("transactionAmount")?,
        creditor_name: text("creditorName")?,
        creditor_iban: entry.reference_iban("creditorAccount")?,
        debtor_name: text("debtorName")?,
        debtor_iban: entry.reference_iban("debtorAccount")?,
        remittance_information: text("remittanceInformationUnstructured")?,
        bank_transaction_code: text("bankTransactionCode")?,
        end_to_end_id: text("endToEndId")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_bad_account_hides_no_other() {
        let body = json!({ "accounts": [
            { "resourceId": "a1", "iban": "DE89370400440532013000", "currency": "EUR", "name": "Main" },
            { "resourceId": "a2", "iban": "DE2310010010123456789", "currency": "EUR" },
            { "resourceId": "a3", "currency": "XXX", "product": "Multicurrency" },
            { "resourceId": "a4", "maskedPan": "123456xxxxxx1234", "currency": "EUR", "cashAccountType": "CARD" },
            { "iban": "DE89370400440532013000", "currency": "EUR" },
            { "resourceId": "a6", "iban": "DE89370400440532013000", "currency": "ABC" },
            "not an account"
        ]});
        let listing = accounts(&body).unwrap();
        let ids: Vec<&str> = listing.entries.iter().map(|a| a.resource_id.as_str()).collect();
        assert_eq!(ids, ["a1", "a3", "a4"]);
        assert_eq!(listing.entries[1].currency, AccountCurrency::Multi);
        assert!(listing.entries[2].iban.is_none());
        let problems: Vec<(&str, &str)> = listing
            .problems
            .iter()
            .map(|p| (p.entry.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            problems,
            [
                ("a2", "iban"),
                ("accounts[4]", "resourceId"),
                ("a6", "currency"),
                ("accounts[6]", "")
            ]
        );
        assert!(listing.problems.iter().all(|p| p.resource == "accounts"));
        assert!(
            !listing.problems[0].problem.contains("DE2310010010123456789"),
            "a problem never repeats the whole IBAN: {}",
            listing.problems[0].problem
        );
    }

    #[test]
    fn balances_with_too_many_decimals_or_unknown_types_are_reported() {
        let body = json!({ "balances": [
            { "balanceType": "closingBooked", "balanceAmount": { "currency": "EUR", "amount": "10.50" } },
            { "balanceType": "interimAvailable", "balanceAmount": { "currency": "EUR", "amount": "10.505" } },
            { "balanceType": "bankSpecial", "balanceAmount": { "currency": "EUR", "amount": "1" } },
            { "balanceType": "expected", "balanceAmount": { "currency": "EUR", "amount": 7.25 },
              "referenceDate": "2026-03-01" }
        ]});
        let listing = balances("accounts/a1/balances", &body).unwrap();
        assert_eq!(listing.entries.len(), 2);
        assert_eq!(listing.entries[1].amount.amount().to_string(), "7.25");
        let fields: Vec<&str> = listing.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["balanceAmount.amount", "balanceType"]);
        assert_eq!(listing.problems[0].entry, "balances[1]");
    }

    #[test]
    fn transactions_keep_counterparties_as_sent_and_report_bad_amounts() {
        let body = json!({ "transactions": {
            "booked": [
                { "transactionId": "t1", "bookingDate": "2026-03-01",
                  "transactionAmount": { "currency": "EUR", "amount": "-12.30" },
                  "creditorName": "Shop", "creditorAccount": { "iban": "DE2310010010123456789" } },
                { "transactionId": "t2", "bookingDate": "2026-03-01",
                  "transactionAmount": { "currency": "EUR", "amount": "-1.234" } },
                { "entryReference": "e3", "bookingDate": "1 March",
                  "transactionAmount": { "currency": "EUR", "amount": "5.00" } },
                { "bookingDate": "2026-03-02" }
            ],
            "pending": [
                { "transactionAmount": { "currency": "SEK", "amount": "-99.00" }, "valueDate": "2026-03-03" }
            ],
            "_links": { "next": { "href": "/v1/accounts/a1/transactions?page=2" } }
        }});
        let page = transactions_page("accounts/a1/transactions", &body).unwrap();
        assert_eq!(page.booked.entries.len(), 1);
        assert_eq!(
            page.booked.entries[0].creditor_iban.as_deref(),
            Some("DE2310010010123456789")
        );
        assert_eq!(page.pending.entries.len(), 1);
        let problems: Vec<(&str, &str)> = page
            .booked
            .problems
            .iter()
            .map(|p| (p.entry.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            problems,
            [
                ("t2", "transactionAmount.amount"),
                ("e3", "bookingDate"),
                ("booked[3]", "transactionAmount")
            ]
        );
        assert_eq!(page.next.as_deref(), Some("/v1/accounts/a1/transactions?page=2"));
    }

    #[test]
    fn a_broken_frame_is_malformed() {
        assert!(matches!(accounts(&json!([1, 2])), Err(BankError::Malformed(_))));
        assert!(matches!(
            accounts(&json!({ "accounts": "none" })),
            Err(BankError::Malformed(_))
        ));
        assert!(matches!(
            transactions_page("r", &json!({ "transactions": { "booked": {} } })),
            Err(BankError::Malformed(_))
        ));
        assert!(accounts(&json!({})).unwrap().entries.is_empty());
    }
}
