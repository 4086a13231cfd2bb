//! The `transactions` table read back: a user's transactions in a period, newest first, a page at a time.

use chrono::NaiveDate;
use consentry_domain::{ConsentId, FieldError, Money, TenantId, UserId};
use consentry_store::{on_pool, Database, Statement};

use crate::categorise::Flow;
use crate::read_models::queries::{QueryError, Table};

/// Newest first; a pending transaction without a booking date sorts by its value date. With a cursor ($5..$9:
/// the sort key of the previous page's last row) the page starts after it; at most $10 rows.
const PAGE: Statement = Statement::each(
    include_str!("sql/page.postgres.sql"),
    include_str!("sql/page.sqlite.sql"),
);

const TABLE: Table = Table::of("transactions");

/// Where a transaction stands at its bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BookingState {
    Booked,
    Pending,
    /// Pending once, then gone from the bank's reports without being booked: kept, marked.
    Vanished,
}

impl BookingState {
    /// The spelling the table stores.
    pub fn as_str(&self) -> &'static str {
        match self {
            BookingState::Booked => "booked",
            BookingState::Pending => "pending",
            BookingState::Vanished => "vanished",
        }
    }
}

impl std::fmt::Display for BookingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A bank transaction, as the read model holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    pub consent: ConsentId,
    pub account_id: String,
    pub transaction_id: String,
    pub bank: String,
    pub status: BookingState,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    /// Signed: negative is money out.
    pub amount: Money,
    pub counterparty: Option<String>,
    pub description: String,
    pub category: String,
    pub flow: Flow,
}

/// A page of transactions and, when more follow, the cursor that asks for them.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionPage {
    pub transactions: Vec<TransactionView>,
    pub next: Option<TransactionCursor>,
}

/// Where a page of transactions ended: the sort key of its last row. Travels as opaque text
/// ([`TransactionCursor::encode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionCursor {
    date: NaiveDate,
    bank: String,
    consent: ConsentId,
    account_id: String,
    transaction_id: String,
}

/// Separates the cursor's parts; bank ids and transaction ids never hold it.
const CURSOR_SEPARATOR: char = '\u{1f}';

impl TransactionCursor {
    /// The cursor after `row`; `None` for a row without a date, which no page holds.
    fn after(row: &TransactionView) -> Option<Self> {
        Some(Self {
            date: row.booking_date.or(row.value_date)?,
            bank: row.bank.clone(),
            consent: row.consent,
            account_id: row.account_id.clone(),
            transaction_id: row.transaction_id.clone(),
        })
    }

    /// The cursor as URL-safe text (hexadecimal).
    pub fn encode(&self) -> String {
        let parts = [
            self.date.to_string(),
            self.bank.clone(),
            self.consent.to_string(),
            self.account_id.clone(),
            self.transaction_id.clone(),
        ];
        parts
            .join(&CURSOR_SEPARATOR.to_string())
            .bytes()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Reads a cursor [`TransactionCursor::encode`] wrote; anything else is an error naming the field `cursor`.
    pub fn decode(text: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "is not a cursor this API returned");
        if !text.len().is_multiple_of(2) || !text.is_ascii() {
            return Err(invalid());
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?;
        let decoded = String::from_utf8(bytes).map_err(|_| invalid())?;
        let [date, bank, consent, account_id, transaction_id] = decoded
            .split(CURSOR_SEPARATOR)
            .collect::<Vec<_>>()
            .try_into()
            .map_err(|_| invalid())?;
        Ok(Self {
            date: date.parse().map_err(|_| invalid())?,
            bank: bank.to_owned(),
            consent: ConsentId::parse(consent).map_err(|_| invalid())?,
            account_id: account_id.to_owned(),
            transaction_id: transaction_id.to_owned(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct TransactionRow {
    consent_id: String,
    account_id: String,
    transaction_id: String,
    bank: String,
    status: String,
    booking_date: Option<NaiveDate>,
    value_date: Option<NaiveDate>,
    amount: String,
    currency: String,
    counterparty: Option<String>,
    description: String,
    category: String,
    flow: String,
}

impl TransactionRow {
    fn into_view(self) -> Result<TransactionView, QueryError> {
        Ok(TransactionView {
            consent: TABLE.consent("consent_id", &self.consent_id)?,
            account_id: self.account_id,
            transaction_id: self.transaction_id,
            bank: self.bank,
            status: TABLE.spelled("status", &self.status)?,
            booking_date: self.booking_date,
            value_date: self.value_date,
            amount: TABLE.money(&self.amount, &self.currency)?,
            counterparty: self.counterparty,
            description: self.description,
            category: self.category,
            flow: TABLE.spelled("flow", &self.flow)?,
        })
    }
}

/// The user's transactions dated `from..=to` at every bank, newest first: at most `limit` rows (all when
/// `None`) after `after`, the cursor of the previous page. Keyset paging: rows stored meanwhile never shift a
/// page or repeat a row.
pub async fn page(
    database: &Database,
    tenant: TenantId,
    user: UserId,
    (from, to): (NaiveDate, NaiveDate),
    limit: Option<usize>,
    after: Option<&TransactionCursor>,
) -> Result<TransactionPage, QueryError> {
    // One row more than asked tells whether another page follows.
    let fetch = limit.map_or(i64::MAX, |limit| {
        i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
    });
    let sql = PAGE.sql(database.backend());
    let (tenant, user) = (tenant.to_string(), user.to_string());
    let rows: Vec<TransactionRow> = on_pool!(database, pool => sqlx::query_as(sql)
        .bind(&tenant)
        .bind(&user)
        .bind(from)
        .bind(to)
        .bind(after.map(|c| c.date))
        .bind(after.map(|c| c.bank.as_str()))
        .bind(after.map(|c| c.consent.to_string()))
        .bind(after.map(|c| c.account_id.as_str()))
        .bind(after.map(|c| c.transaction_id.as_str()))
        .bind(fetch)
        .fetch_all(pool)
        .await)?;
    let mut transactions = rows
        .into_iter()
        .map(TransactionRow::into_view)
        .collect::<Result<Vec<_>, _>>()?;
    let next = match limit {
        Some(limit) if transactions.len() > limit => {
            transactions.truncate(limit);
            transactions.last().and_then(TransactionCursor::after)
        }
        _ => None,
    };
    Ok(TransactionPage { transactions, next })
}
