use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// An ISO 4217 currency with the number of minor units (decimals) it allows, from `iso_currency`'s copy of the
/// ISO table. Units without minor units (precious metals, SDR, the testing and "no currency" codes) are not
/// currencies an amount can be in. Currencies ISO has since superseded (HRK, say) are accepted, because an event
/// stored while they were current must still load.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    iso: iso_currency::Currency,
    minor_units: u8,
}

impl Currency {
    pub const EUR: Currency = Currency {
        iso: iso_currency::Currency::EUR,
        minor_units: 2,
    };

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("currency", input)
    }

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let Some(iso) = iso_currency::Currency::from_code(input.trim()) else {
            return Err(FieldError::new(
                field,
                format!("{input:?} is not an ISO 4217 currency code"),
            ));
        };
        match iso.exponent().map(u8::try_from) {
            Some(Ok(minor_units)) => Ok(Self { iso, minor_units }),
            _ => Err(FieldError::new(
                field,
                format!(
                    "{input:?} is an ISO 4217 unit without minor units ({}), not a currency",
                    iso.name()
                ),
            )),
        }
    }

    pub fn code(&self) -> &'static str {
        self.iso.code()
    }

    pub fn minor_units(&self) -> u32 {
        u32::from(self.minor_units)
    }
}

/// By code, so lists and totals sort alphabetically whatever order the ISO table has.
impl PartialOrd for Currency {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Currency {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.code().cmp(other.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The currency of an account: one ISO 4217 currency, or `XXX`, the code Berlin Group gives a multicurrency
/// account (one account, balances in several currencies, each balance carrying its own).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountCurrency {
    Single(Currency),
    Multi,
}

impl AccountCurrency {
    /// The ISO 4217 code of "no currency", which the Berlin Group spec uses for multicurrency accounts.
    pub const MULTI_CODE: &'static str = "XXX";

    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        if input.trim() == Self::MULTI_CODE {
            return Ok(Self::Multi);
        }
        Currency::parse_field(field, input).map(Self::Single)
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Single(currency) => currency.code(),
            Self::Multi => Self::MULTI_CODE,
        }
    }

    /// The one currency of a single-currency account.
    pub fn single(&self) -> Option<Currency> {
        match self {
            Self::Single(currency) => Some(*currency),
            Self::Multi => None,
        }
    }
}

impl From<Currency> for AccountCurrency {
    fn from(currency: Currency) -> Self {
        Self::Single(currency)
    }
}

impl fmt::Debug for AccountCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for AccountCurrency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for AccountCurrency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for AccountCurrency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse_field("currency", &raw).map_err(serde::de::Error::custom)
    }
}

/// An exact amount in a currency, never with more decimals than the currency has minor units. The amount is
/// kept at the currency's scale (`10.1 EUR` is held and shown as `10.10`). It may be negative (a debit).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, FieldError> {
        Self::new_field("amount", amount, currency)
    }

    fn new_field(field: &str, amount: Decimal, currency: Currency) -> Result<Self, FieldError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_units() {
            return Err(FieldError::new(
                field,
                format!(
                    "{amount} has {} decimals; {currency} allows {}",
                    normalized.scale(),
                    currency.minor_units()
                ),
            ));
        }
        let mut amount = normalized;
        amount.rescale(currency.minor_units());
        Ok(Self { amount, currency })
    }

    /// Parses a Berlin Group amount object (`{"amount": "10.00", "currency": "EUR"}`) from its two strings. The
    /// errors name `{field}.amount` and `{field}.currency`.
    pub fn parse(field: &str, amount: &str, currency: &str) -> Result<Self, FieldError> {
        let amount_field = format!("{field}.amount");
        let currency = Currency::parse_field(&format!("{field}.currency"), currency)?;
        let text = amount.trim();
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, "0"));
        let well_formed = !int_part.is_empty()
            && int_part.len() <= 18
            && !frac_part.is_empty()
            && int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(FieldError::new(
                amount_field,
                format!("{amount:?} is not a decimal amount such as 12.34"),
            ));
        }
        let value = Decimal::from_str_exact(text).map_err(|e| FieldError::new(&amount_field, e))?;
        Self::new_field(&amount_field, value, currency)
    }

    pub fn zero(currency: Currency) -> Self {
        let mut amount = Decimal::ZERO;
        amount.rescale(currency.minor_units());
        Self { amount, currency }
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_positive(&self) -> bool {
        self.amount > Decimal::ZERO
    }

    /// Adds two amounts of one currency; `None` for different currencies or an overflow.
    pub fn checked_add(&self, other: &Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let amount = self.amount.checked_add(other.amount)?;
        Some(Self {
            amount,
            currency: self.currency,
        })
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

#[derive(Serialize, Deserialize)]
struct AmountWire {
    amount: String,
    currency: String,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        AmountWire {
            amount: self.amount.to_string(),
            currency: self.currency.code().to_owned(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = AmountWire::deserialize(deserializer)?;
        Money::parse("amount", &wire.amount, &wire.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(Currency::parse("EUR").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        let err = Currency::parse_field("instructedAmount.currency", "XYZ").unwrap_err();
        assert_eq!(err.field, "instructedAmount.currency");
        assert!(err.problem.contains("ISO 4217"));
        assert!(Currency::parse("eur").is_err());
        assert_eq!(Currency::parse(" SEK ").unwrap().code(), "SEK");
        assert_eq!(Currency::parse("EUR").unwrap(), Currency::EUR);
    }

    #[test]
    fn units_without_minor_units_are_not_currencies() {
        for code in ["XAU", "XDR", "XTS", "XXX"] {
            let err = Currency::parse_field("balanceAmount.currency", code).unwrap_err();
            assert!(err.problem.contains("without minor units"), "{code}: {}", err.problem);
        }
        assert!(Money::parse("x", "1", "XAU").is_err());
    }

    #[test]
    fn an_account_currency_is_a_currency_or_multicurrency() {
        assert_eq!(
            AccountCurrency::parse_field("currency", "XXX").unwrap(),
            AccountCurrency::Multi
        );
        assert_eq!(
            AccountCurrency::parse_field("currency", "EUR").unwrap(),
            AccountCurrency::Single(Currency::EUR)
        );
        assert_eq!(AccountCurrency::Multi.single(), None);
        let err = AccountCurrency::parse_field("accounts[0].currency", "ABC").unwrap_err();
        assert_eq!(err.field, "accounts[0].currency");
        assert!(AccountCurrency::parse_field("currency", "XAU").is_err());
        let json = serde_json::to_string(&AccountCurrency::Multi).unwrap();
        assert_eq!(json, "\"XXX\"");
        let back: AccountCurrency = serde_json::from_str("\"SEK\"").unwrap();
        assert_eq!(back.code(), "SEK");
    }

    #[test]
    fn currencies_sort_by_code() {
        let mut codes: Vec<Currency> = ["XCG", "USD", "AOA", "EUR"]
            .into_iter()
            .map(|c| Currency::parse(c).unwrap())
            .collect();
        codes.sort();
        assert_eq!(
            codes.iter().map(Currency::code).collect::<Vec<_>>(),
            ["AOA", "EUR", "USD", "XCG"]
        );
    }

    #[test]
    fn money_rejects_more_decimals_than_the_currency_allows() {
        let err = Money::parse("instructedAmount", "10.001", "EUR").unwrap_err();
        assert_eq!(err.field, "instructedAmount.amount");
        assert!(err.problem.contains("EUR allows 2"), "{}", err.problem);
        assert!(Money::parse("x", "1.5", "JPY").is_err());
        assert_eq!(Money::parse("x", "10.1", "EUR").unwrap().to_string(), "10.10 EUR");
        assert_eq!(Money::parse("x", "10.100", "EUR").unwrap().to_string(), "10.10 EUR");
        assert_eq!(Money::parse("x", "-3", "KWD").unwrap().to_string(), "-3.000 KWD");
        for bad in ["", "1e3", "1.", ".5", "12,30", "NaN", "--1"] {
            assert!(Money::parse("x", bad, "EUR").is_err(), "{bad}");
        }
    }

    #[test]
    fn money_serde_round_trips_and_validates() {
        let money = Money::parse("x", "1234.56", "SEK").unwrap();
        let json = serde_json::to_string(&money).unwrap();
        assert_eq!(json, r#"{"amount":"1234.56","currency":"SEK"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), money);
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.234","currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"ABC"}"#).is_err());
    }

    #[test]
    fn addition_is_exact_and_per_currency() {
        let a = Money::parse("x", "0.10", "EUR").unwrap();
        let b = Money::parse("x", "0.20", "EUR").unwrap();
        assert_eq!(a.checked_add(&b).unwrap(), Money::parse("x", "0.30", "EUR").unwrap());
        assert!(a.checked_add(&Money::zero(Currency::parse("USD").unwrap())).is_none());
    }
}
