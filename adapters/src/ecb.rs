//! The ECB reference-rates adapter: reads the daily `eurofxref` XML (EUR base), caches it for a TTL (1 hour by
//! default, measured on the `Clock`), and falls back to the last good table, then to the snapshot shipped in
//! `data/eurofxref-daily.xml`, when the feed cannot be read. Each table names its source, so every total says
//! which rates produced it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::rates::{RateTable, RatesPort, RatesUnavailable};
use consentry_domain::{Clock, Currency};
use rust_decimal::Decimal;

/// The ECB's daily feed.
pub const ECB_DAILY_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml";

/// The snapshot shipped for offline use.
pub const SNAPSHOT_XML: &str = include_str!("../data/eurofxref-daily.xml");

/// Larger bodies are not an ECB rates file.
const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcbError {
    #[error("not an eurofxref file: {0}")]
    Malformed(String),
    #[error("fetching the rates failed: {0}")]
    Fetch(String),
}

/// The value of attribute `name` in the attribute text of one tag (`currency='USD' rate='1.1552'`).
fn attribute<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let after = rest[at + name.len()..].trim_start();
        let preceded_by_space = rest[..at].chars().next_back().is_none_or(char::is_whitespace);
        if let (true, Some(value)) = (preceded_by_space, after.strip_prefix('=')) {
            let value = value.trim_start();
            let quote = value.chars().next().filter(|q| *q == '\'' || *q == '"')?;
            let value = &value[1..];
            return value.find(quote).map(|end| &value[..end]);
        }
        rest = &rest[at + name.len()..];
    }
    None
}

/// Parses an eurofxref file: the `time` of its dated `Cube` and each `currency`/`rate` pair. Currencies that
/// are not active ISO 4217 codes are skipped; a bad rate or a missing date is an error.
pub fn parse_eurofxref(xml: &str, source: &str) -> Result<RateTable, EcbError> {
    let mut date = None;
    let mut per_euro = BTreeMap::new();
    for piece in xml.split("<Cube").skip(1) {
        let tag = piece.split('>').next().unwrap_or_default();
        if let Some(time) = attribute(tag, "time") {
            let parsed = NaiveDate::parse_from_str(time, "%Y-%m-%d")
                .map_err(|_| EcbError::Malformed(format!("time {time:?} is not a date")))?;
            if date.replace(parsed).is_some() {
                return Err(EcbError::Malformed("more than one day of rates".into()));
            }
        }
        if let (Some(code), Some(rate)) = (attribute(tag, "currency"), attribute(tag, "rate")) {
            let rate: Decimal = rate
                .parse()
                .map_err(|_| EcbError::Malformed(format!("rate {rate:?} of {code} is not a number")))?;
            match Currency::parse(code) {
                Ok(currency) => {
                    per_euro.insert(currency, rate);
                }
                Err(_) => tracing::warn!(code, "skipping a rate for a currency Consentry does not know"),
            }
        }
    }
    let date = date.ok_or_else(|| EcbError::Malformed("no dated Cube".into()))?;
    if per_euro.is_empty() {
        return Err(EcbError::Malformed("no rates".into()));
    }
    RateTable::new(date, source, per_euro).map_err(|e| EcbError::Malformed(e.to_string()))
}

/// The snapshot shipped with Consentry.
pub fn snapshot() -> Result<RateTable, EcbError> {
    parse_eurofxref(
        SNAPSHOT_XML,
        "offline snapshot (eurofxref-daily.xml shipped with Consentry)",
    )
}

struct Cached {
    fetched_at: DateTime<Utc>,
    table: Arc<RateTable>,
}

/// Rates from the ECB feed (or any URL serving the same XML), cached for `ttl`.
pub struct EcbRates {
    client: reqwest::Client,
    url: String,
    ttl: chrono::Duration,
    clock: Arc<dyn Clock>,
    cache: Mutex<Option<Cached>>,
}

impl EcbRates {
    pub fn new(url: impl Into<String>, ttl: chrono::Duration, clock: Arc<dyn Clock>) -> Result<Self, EcbError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| EcbError::Fetch(e.to_string()))?;
        Ok(Self {
            client,
            url: url.into(),
            ttl,
            clock,
            cache: Mutex::new(None),
        })
    }

    /// The ECB feed with the default one-hour TTL.
    pub fn ecb(clock: Arc<dyn Clock>) -> Result<Self, EcbError> {
        Self::new(ECB_DAILY_URL, chrono::Duration::hours(1), clock)
    }

    async fn fetch(&self) -> Result<RateTable, EcbError> {
        let fetch = |e: reqwest::Error| EcbError::Fetch(e.to_string());
        let mut response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(fetch)?
            .error_for_status()
            .map_err(fetch)?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY_BYTES {
                return Err(EcbError::Malformed(format!("body larger than {MAX_BODY_BYTES} bytes")));
            }
        }
        let text = String::from_utf8(body).map_err(|_| EcbError::Malformed("body is not UTF-8".into()))?;
        let source = format!(
            "ECB eurofxref ({}, fetched {})",
            self.url,
            self.clock.now().format("%Y-%m-%d %H:%M UTC")
        );
        parse_eurofxref(&text, &source)
    }

    fn cached(&self) -> Option<(DateTime<Utc>, Arc<RateTable>)> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.as_ref().map(|c| (c.fetched_at, c.table.clone()))
    }
}

#[async_trait]
impl RatesPort for EcbRates {
    async fn current(&self) -> Result<Arc<RateTable>, RatesUnavailable> {
        let now = self.clock.now();
        let cached = self.cached();
        if let Some((fetched_at, table)) = &cached {
            if now - *fetched_at < self.ttl {
                return Ok(table.clone());
            }
        }
        match self.fetch().await {
            Ok(table) => {
                let table = Arc::new(table);
                *self.cache.lock().unwrap_or_else(PoisonError::into_inner) = Some(Cached {
                    fetched_at: now,
                    table: table.clone(),
                });
                Ok(table)
            }
            Err(error) => {
                tracing::warn!(%error, "ECB rates unavailable; using the last good rates or the shipped snapshot");
                match cached {
                    Some((_, table)) => Ok(table),
                    None => snapshot().map(Arc::new).map_err(|e| RatesUnavailable(e.to_string())),
                }
            }
        }
    }
}

/// Rates that never change: the shipped snapshot, for the demo and offline use.
pub struct SnapshotRates(Arc<RateTable>);

impl SnapshotRates {
    pub fn load() -> Result<Self, EcbError> {
        snapshot().map(|table| Self(Arc::new(table)))
    }
}

#[async_trait]
impl RatesPort for SnapshotRates {
    async fn current(&self) -> Result<Arc<RateTable>, RatesUnavailable> {
        Ok(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_snapshot_parses() {
        let table = snapshot().expect("snapshot parses");
        assert_eq!(table.date.to_string(), "2026-11-20");
        let usd = Currency::parse("USD").expect("usd");
        assert_eq!(
            table.rate(Currency::EUR, usd).expect("usd rate"),
            Decimal::new(11552, 4)
        );
        assert_eq!(table.currencies().count(), 29);
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        for xml in [
            "",
            "<Cube>",
            "<Cube time='2026-13-01'><Cube currency='USD' rate='1.1'/></Cube>",
            "<Cube time='2026-11-20'><Cube currency='USD' rate='abc'/></Cube>",
            "<Cube time='2026-11-20'><Cube currency='USD' rate='-1'/></Cube>",
            "<Cube time='2026-11-20'></Cube>",
            "<Cube time='2026-11-20'><Cube time='2026-11-21'><Cube currency='USD' rate='1'/>",
            "<Cube time=\"2026-11-20\"><Cube currency=\"USD\" rate=\"1.1",
        ] {
            assert!(parse_eurofxref(xml, "test").is_err(), "{xml}");
        }
        let double_quoted =
            "<Cube time=\"2026-11-20\"><Cube currency=\"USD\" rate=\"1.1\"/><Cube currency='XXX' rate='2'/>";
        assert_eq!(
            parse_eurofxref(double_quoted, "test")
                .expect("parses")
                .currencies()
                .count(),
            1
        );
    }
}
