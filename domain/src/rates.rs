//! Exchange rates and totals in a base currency. A `RateTable` holds one day's reference rates against EUR
//! (the ECB's shape); every other pair is a cross rate through EUR. Conversions are exact decimals, and a total
//! is rounded once, at the end, to the base currency's minor units, naming the rates' date and source.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::{Currency, FieldError, Money};

/// One day's rates: units of each currency for one euro.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateTable {
    pub date: NaiveDate,
    /// Where the rates came from: the ECB feed and when it was fetched, or the offline snapshot.
    pub source: String,
    per_euro: BTreeMap<Currency, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("no {currency} rate in the {origin} rates of {date}")]
    MissingRate {
        currency: Currency,
        date: NaiveDate,
        origin: String,
    },
    #[error("the total overflowed")]
    Overflow,
}

impl RateTable {
    /// `per_euro` may include EUR itself (it must then be 1).
    pub fn new(
        date: NaiveDate,
        source: impl Into<String>,
        per_euro: BTreeMap<Currency, Decimal>,
    ) -> Result<Self, FieldError> {
        for (currency, rate) in &per_euro {
            let wrong_euro = *currency == Currency::EUR && *rate != Decimal::ONE;
            if *rate <= Decimal::ZERO || wrong_euro {
                return Err(FieldError::new(
                    format!("rates.{currency}"),
                    format!("{rate} is not a usable rate"),
                ));
            }
        }
        Ok(Self {
            date,
            source: source.into(),
            per_euro,
        })
    }

    fn per_euro(&self, currency: Currency) -> Result<Decimal, RateError> {
        if currency == Currency::EUR {
            return Ok(Decimal::ONE);
        }
        self.per_euro
            .get(&currency)
            .copied()
            .ok_or_else(|| RateError::MissingRate {
                currency,
                date: self.date,
                origin: self.source.clone(),
            })
    }

    /// How many `to` one unit of `from` buys: through EUR for a pair without the euro.
    pub fn rate(&self, from: Currency, to: Currency) -> Result<Decimal, RateError> {
        if from == to {
            return Ok(Decimal::ONE);
        }
        let (from, to) = (self.per_euro(from)?, self.per_euro(to)?);
        to.checked_div(from).ok_or(RateError::Overflow)
    }

    /// `money` in `to`, unrounded (exact to 28 significant digits).
    fn convert_exact(&self, money: Money, to: Currency) -> Result<Decimal, RateError> {
        let rate = self.rate(money.currency(), to)?;
        money.amount().checked_mul(rate).ok_or(RateError::Overflow)
    }

    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.per_euro.keys().copied()
    }

    /// The sum of `amounts` in `base`: converted exactly, added exactly, rounded once (half away from zero) to
    /// `base`'s minor units.
    pub fn total(&self, amounts: &[Money], base: Currency) -> Result<Total, RateError> {
        let mut sum = Decimal::ZERO;
        for money in amounts {
            sum = sum
                .checked_add(self.convert_exact(*money, base)?)
                .ok_or(RateError::Overflow)?;
        }
        let rounded = sum.round_dp_with_strategy(base.minor_units(), RoundingStrategy::MidpointAwayFromZero);
        let amount = Money::new(rounded, base).map_err(|_| RateError::Overflow)?;
        Ok(Total {
            amount,
            rates_date: self.date,
            rates_source: self.source.clone(),
        })
    }
}

/// A total in a base currency and the rates that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    pub amount: Money,
    pub rates_date: NaiveDate,
    pub rates_source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exchange rates unavailable: {0}")]
pub struct RatesUnavailable(pub String);

/// Where the current rates come from (the ECB feed, with a cache and an offline snapshot behind it).
#[async_trait]
pub trait RatesPort: Send + Sync {
    async fn current(&self) -> Result<Arc<RateTable>, RatesUnavailable>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    fn table() -> RateTable {
        let per_euro = BTreeMap::from([
            (currency("USD"), Decimal::new(11552, 4)),
            (currency("SEK"), Decimal::new(109500, 4)),
            (currency("GBP"), Decimal::new(8790, 4)),
            (currency("JPY"), Decimal::new(1785, 1)),
        ]);
        RateTable::new(NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"), "test", per_euro).expect("table")
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::parse("x", amount, code).expect("valid money")
    }

    #[test]
    fn cross_rates_go_through_the_euro() {
        let table = table();
        assert_eq!(
            table.rate(currency("EUR"), currency("USD")).expect("rate"),
            Decimal::new(11552, 4)
        );
        let usd_sek = table.rate(currency("USD"), currency("SEK")).expect("rate");
        assert_eq!(usd_sek, Decimal::new(109500, 4) / Decimal::new(11552, 4));
    }

    #[test]
    fn totals_are_exact_and_rounded_once() {
        let table = table();
        let amounts = [
            money("100.00", "EUR"),
            money("115.52", "USD"),
            money("1095.00", "SEK"),
            money("1000", "JPY"),
        ];
        let total = table.total(&amounts, Currency::EUR).expect("total");
        // 100 + 100 + 100 + 5.602240896... = 305.60
        assert_eq!(total.amount, money("305.60", "EUR"));
        assert_eq!(total.rates_date.to_string(), "2026-11-20");
        let in_jpy = table.total(&[money("0.01", "EUR")], currency("JPY")).expect("total");
        assert_eq!(in_jpy.amount, money("2", "JPY"));
    }

    #[test]
    fn a_missing_rate_is_an_error_not_a_wrong_total() {
        let error = table().total(&[money("1.00", "CHF")], Currency::EUR).unwrap_err();
        assert!(matches!(error, RateError::MissingRate { .. }));
        assert!(error.to_string().contains("CHF"));
    }
}
