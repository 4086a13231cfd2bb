//! The Engine's queries on the read models (`consents`, `payments`, `accounts`, `balances`, `transactions`,
//! `spending`) and
//! the management of a tenant's categorisation rules. Every query is scoped to one tenant and
//! user: the tenant is part of every WHERE clause, so one tenant never reads another's rows. Ids are bound as
//! text (cast to uuid on PostgreSQL), so one set of bindings serves both stores.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::{ConsentId, Currency, FieldError, Money, PaymentId, TenantId, UserId};
use consentry_projections::categorise::{Categoriser, Rule};
use consentry_projections::read_models::MICROS;
use consentry_store::Statement;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{Engine, EngineError};

/// By bank, the newest consent first.
const CONSENTS: Statement = Statement::each(
    include_str!("../sql/queries/consents.postgres.sql"),
    include_str!("../sql/queries/consents.sqlite.sql"),
);

/// The newest payment first.
const PAYMENTS: Statement = Statement::each(
    include_str!("../sql/queries/payments.postgres.sql"),
    include_str!("../sql/queries/payments.sqlite.sql"),
);

const STATUS_CHANGES: Statement = Statement::each(
    include_str!("../sql/queries/status_changes.postgres.sql"),
    include_str!("../sql/queries/status_changes.sqlite.sql"),
);

const ACCOUNTS: Statement = Statement::each(
    include_str!("../sql/queries/accounts.postgres.sql"),
    include_str!("../sql/queries/accounts.sqlite.sql"),
);

const BALANCES: Statement = Statement::each(
    include_str!("../sql/queries/balances.postgres.sql"),
    include_str!("../sql/queries/balances.sqlite.sql"),
);

/// Newest first; a pending transaction without a booking date sorts by its value date. With a cursor ($5..$9:
/// the sort key of the previous page's last row) the page starts after it; at most $10 rows.
const TRANSACTIONS: Statement = Statement::each(
    include_str!("../sql/queries/transactions.postgres.sql"),
    include_str!("../sql/queries/transactions.sqlite.sql"),
);

const SPENDING: Statement = Statement::each(
    include_str!("../sql/queries/spending.postgres.sql"),
    include_str!("../sql/queries/spending.sqlite.sql"),
);

const INSERT_RULE: Statement = Statement::each(
    include_str!("../sql/queries/insert_rule.postgres.sql"),
    include_str!("../sql/queries/insert_rule.sqlite.sql"),
);

const LIST_RULES: Statement = Statement::each(
    include_str!("../sql/queries/list_rules.postgres.sql"),
    include_str!("../sql/queries/list_rules.sqlite.sql"),
);

const DELETE_RULE: Statement = Statement::each(
    include_str!("../sql/queries/delete_rule.postgres.sql"),
    include_str!("../sql/queries/delete_rule.sqlite.sql"),
);

/// The balance types a user sees first, in order; the others follow by name.
pub const BALANCE_PREFERENCE: &[&str] = &["interimAvailable", "closingBooked"];

/// Runs the statement with the same text bindings on either pool and returns its rows.
macro_rules! fetch_all {
    ($database:expr, $statement:expr $(, $bind:expr)*) => {{
        let database: &consentry_store::Database = $database;
        let sql = $statement.sql(database.backend());
        consentry_store::on_pool!(database, pool => sqlx::query_as(sql)$(.bind($bind))*.fetch_all(pool).await)
    }};
}

pub(crate) use fetch_all;

/// Runs the statement with the same text bindings on either pool and returns the rows it changed.
macro_rules! execute {
    ($database:expr, $statement:expr $(, $bind:expr)*) => {{
        let database: &consentry_store::Database = $database;
        let sql = $statement.sql(database.backend());
        consentry_store::on_pool!(database, pool => sqlx::query(sql)$(.bind($bind))*.execute(pool).await.map(|r| r.rows_affected()))
    }};
}

/// A consent as the `consents` read model holds it, with the days it has left by the engine's clock.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    pub consent: ConsentId,
    pub bank: String,
    /// `allPsd2`, `availableAccounts` or `dedicated`.
    pub access: Option<String>,
    pub recurring: Option<bool>,
    pub frequency_per_day: Option<i32>,
    pub valid_until: Option<NaiveDate>,
    /// `valid_until` minus today by the engine's [`Clock`](consentry_domain::Clock): 0 on the last valid day,
    /// negative after it.
    pub days_left: Option<i64>,
    /// Berlin Group consentStatus: `received`, `valid`, `rejected`, `expired`, `revokedByPsu`, `terminatedByTpp`.
    pub status: Option<String>,
    /// The rejection reason or the expiry cause.
    pub status_reason: Option<String>,
    /// Where the user authorises the consent.
    pub sca_redirect_url: Option<String>,
    /// The consent this one renews, and the one that renewed it.
    pub renewal_of: Option<ConsentId>,
    pub renewed_by: Option<ConsentId>,
    pub requested_at: Option<DateTime<Utc>>,
    pub authorised_at: Option<DateTime<Utc>>,
    pub status_changed_at: Option<DateTime<Utc>>,
}

/// A payment order as the `payments` read model holds it, with every status it reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub payment: PaymentId,
    pub bank: String,
    /// The Berlin Group payment service (`payments`, ...) and product (`sepa-credit-transfers`, ...).
    pub service: Option<String>,
    pub product: Option<String>,
    pub creditor_name: Option<String>,
    pub amount: Money,
    /// Where the initiation stands: `ready`, `sending`, `outcomeUnknown` or `submitted`.
    pub phase: Option<String>,
    /// The latest ISO 20022 transaction status.
    pub status: Option<String>,
    pub bank_payment_id: Option<String>,
    pub attempts: Option<i32>,
    pub cancellation_requested: Option<bool>,
    pub requested_at: Option<DateTime<Utc>>,
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Every status the payment reached, oldest first.
    pub history: Vec<StatusChange>,
}

/// A status a payment reached, and when.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A bank account a user's consent gives access to.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub consent: ConsentId,
    /// The bank's resourceId, unique within the consent.
    pub account_id: String,
    pub bank: String,
    pub iban: Option<String>,
    pub currency: Currency,
    pub name: Option<String>,
    pub product: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// The latest balance of one type on one account.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceView {
    pub consent: ConsentId,
    pub account_id: String,
    pub balance_type: String,
    pub amount: Money,
    pub reference_date: Option<NaiveDate>,
    pub observed_at: DateTime<Utc>,
}

/// A bank transaction, as the read model holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionView {
    pub consent: ConsentId,
    pub account_id: String,
    pub transaction_id: String,
    pub bank: String,
    /// `booked`, `pending` or `vanished`.
    pub status: String,
    pub booking_date: Option<NaiveDate>,
    pub value_date: Option<NaiveDate>,
    /// Signed: negative is money out.
    pub amount: Money,
    pub counterparty: Option<String>,
    pub description: String,
    pub category: String,
    /// `spending` or `income`.
    pub flow: String,
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

/// What a user spent (or received) in one category, currency and month: absolute amounts of booked
/// transactions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpendingLine {
    pub category: String,
    /// `spending` or `income`.
    pub flow: String,
    pub total: Money,
    pub count: i64,
}

/// A tenant's categorisation rule and its id.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TenantRule {
    pub id: Uuid,
    pub rule: Rule,
}

type ConsentRow = (
    String,
    String,
    Option<String>,
    Option<bool>,
    Option<i32>,
    Option<NaiveDate>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);
type PaymentRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<bool>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);
type AccountRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);
type BalanceRow = (String, String, String, String, String, Option<NaiveDate>, DateTime<Utc>);
type TransactionRow = (
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDate>,
    Option<NaiveDate>,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
);
type SpendingRow = (String, String, String, i64, i64);

/// A read model row that does not read back is a fault of the store, not of the caller.
fn corrupt(what: &str, error: impl std::fmt::Display) -> EngineError {
    EngineError::Store(format!("{what} in the read model: {error}"))
}

fn consent_id(text: &str) -> Result<ConsentId, EngineError> {
    ConsentId::parse(text).map_err(|e| corrupt("consent id", e))
}

fn money(amount: &str, currency: &str) -> Result<Money, EngineError> {
    Money::parse("amount", amount, currency).map_err(|e| corrupt("amount", e))
}

fn store_error(error: sqlx::Error) -> EngineError {
    EngineError::Store(error.to_string())
}

/// Orders balance types: the preferred ones in `preference` order, then the rest by name.
fn rank(preference: &[&str], balance_type: &str) -> (usize, String) {
    let position = preference
        .iter()
        .position(|p| *p == balance_type)
        .unwrap_or(preference.len());
    (position, balance_type.to_owned())
}

impl Engine {
    /// The user's consents at every bank, whatever their status, with the days each has left today.
    pub async fn consents(&self, tenant: TenantId, user: UserId) -> Result<Vec<ConsentView>, EngineError> {
        let rows: Vec<ConsentRow> =
            fetch_all!(self.database(), CONSENTS, tenant.to_string(), user.to_string()).map_err(store_error)?;
        let today = self.now().date_naive();
        let optional_id = |id: Option<String>| id.as_deref().map(consent_id).transpose();
        rows.into_iter()
            .map(
                |(
                    consent,
                    bank,
                    access,
                    recurring,
                    frequency_per_day,
                    valid_until,
                    status,
                    status_reason,
                    sca_redirect_url,
                    renewal_of,
                    renewed_by,
                    requested_at,
                    authorised_at,
                    status_changed_at,
                )| {
                    Ok(ConsentView {
                        consent: consent_id(&consent)?,
                        bank,
                        access,
                        recurring,
                        frequency_per_day,
                        valid_until,
                        days_left: valid_until.map(|until| (until - today).num_days()),
                        status,
                        status_reason,
                        sca_redirect_url,
                        renewal_of: optional_id(renewal_of)?,
                        renewed_by: optional_id(renewed_by)?,
                        requested_at,
                        authorised_at,
                        status_changed_at,
                    })
                },
            )
            .collect()
    }

    /// The user's payment orders, newest first, each with the statuses it went through.
    pub async fn payments(&self, tenant: TenantId, user: UserId) -> Result<Vec<PaymentView>, EngineError> {
        let (tenant, user) = (tenant.to_string(), user.to_string());
        let rows: Vec<PaymentRow> = fetch_all!(self.database(), PAYMENTS, &tenant, &user).map_err(store_error)?;
        let changes: Vec<(String, String, DateTime<Utc>)> =
            fetch_all!(self.database(), STATUS_CHANGES, &tenant, &user).map_err(store_error)?;
        let mut history: HashMap<String, Vec<StatusChange>> = HashMap::new();
        for (payment, status, at) in changes {
            history.entry(payment).or_default().push(StatusChange { status, at });
        }
        rows.into_iter()
            .map(
                |(
                    payment,
                    bank,
                    service,
                    product,
                    creditor_name,
                    amount,
                    currency,
                    phase,
                    status,
                    bank_payment_id,
                    attempts,
                    cancellation_requested,
                    requested_at,
                    status_changed_at,
                )| {
                    Ok(PaymentView {
                        history: history.remove(&payment).unwrap_or_default(),
                        payment: PaymentId::parse(&payment).map_err(|e| corrupt("payment id", e))?,
                        bank,
                        service,
                        product,
                        creditor_name,
                        amount: money(&amount, &currency)?,
                        phase,
                        status,
                        bank_payment_id,
                        attempts,
                        cancellation_requested,
                        requested_at,
                        status_changed_at,
                    })
                },
            )
            .collect()
    }

    /// The user's accounts at every bank.
    pub async fn accounts(&self, tenant: TenantId, user: UserId) -> Result<Vec<AccountView>, EngineError> {
        let rows: Vec<AccountRow> =
            fetch_all!(self.database(), ACCOUNTS, tenant.to_string(), user.to_string()).map_err(store_error)?;
        rows.into_iter()
            .map(
                |(consent, account_id, bank, iban, currency, name, product, first_seen, last_seen)| {
                    Ok(AccountView {
                        consent: consent_id(&consent)?,
                        account_id,
                        bank,
                        iban,
                        currency: Currency::parse(&currency).map_err(|e| corrupt("currency", e))?,
                        name,
                        product,
                        first_seen,
                        last_seen,
                    })
                },
            )
            .collect()
    }

    /// One balance per account: the preferred type ([`BALANCE_PREFERENCE`]).
    pub async fn balances(&self, tenant: TenantId, user: UserId) -> Result<Vec<BalanceView>, EngineError> {
        self.balances_preferring(tenant, user, BALANCE_PREFERENCE).await
    }

    /// One balance per account: the first of `preference` the bank reported, else the first other by name.
    pub async fn balances_preferring(
        &self,
        tenant: TenantId,
        user: UserId,
        preference: &[&str],
    ) -> Result<Vec<BalanceView>, EngineError> {
        let rows: Vec<BalanceRow> =
            fetch_all!(self.database(), BALANCES, tenant.to_string(), user.to_string()).map_err(store_error)?;
        let mut best: Vec<BalanceView> = Vec::new();
        for (consent, account_id, balance_type, amount, currency, reference_date, observed_at) in rows {
            let view = BalanceView {
                consent: consent_id(&consent)?,
                account_id,
                amount: money(&amount, &currency)?,
                balance_type,
                reference_date,
                observed_at,
            };
            match best
                .iter_mut()
                .find(|b| b.consent == view.consent && b.account_id == view.account_id)
            {
                Some(current) => {
                    if rank(preference, &view.balance_type) < rank(preference, &current.balance_type) {
                        *current = view;
                    }
                }
                None => best.push(view),
            }
        }
        Ok(best)
    }

    /// The user's transactions dated `from..=to` at every bank, newest first.
    pub async fn transactions(
        &self,
        tenant: TenantId,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<TransactionView>, EngineError> {
        let page = self.transactions_page(tenant, user, from, to, None, None).await?;
        Ok(page.transactions)
    }

    /// One page of [`Engine::transactions`]: at most `limit` rows (all when `None`) after `after`, the cursor of
    /// the previous page. Keyset paging: rows stored meanwhile never shift a page or repeat a row.
    pub async fn transactions_page(
        &self,
        tenant: TenantId,
        user: UserId,
        from: NaiveDate,
        to: NaiveDate,
        limit: Option<usize>,
        after: Option<&TransactionCursor>,
    ) -> Result<TransactionPage, EngineError> {
        // One row more than asked tells whether another page follows.
        let fetch = limit.map_or(i64::MAX, |limit| {
            i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)
        });
        let rows: Vec<TransactionRow> = fetch_all!(
            self.database(),
            TRANSACTIONS,
            tenant.to_string(),
            user.to_string(),
            from,
            to,
            after.map(|c| c.date),
            after.map(|c| c.bank.clone()),
            after.map(|c| c.consent.to_string()),
            after.map(|c| c.account_id.clone()),
            after.map(|c| c.transaction_id.clone()),
            fetch
        )
        .map_err(store_error)?;
        let mut transactions = rows
            .into_iter()
            .map(
                |(
                    consent,
                    account_id,
                    transaction_id,
                    bank,
                    status,
                    booking_date,
                    value_date,
                    amount,
                    currency,
                    counterparty,
                    description,
                    category,
                    flow,
                )| {
                    Ok(TransactionView {
                        consent: consent_id(&consent)?,
                        account_id,
                        transaction_id,
                        bank,
                        status,
                        booking_date,
                        value_date,
                        amount: money(&amount, &currency)?,
                        counterparty,
                        description,
                        category,
                        flow,
                    })
                },
            )
            .collect::<Result<Vec<_>, EngineError>>()?;
        let next = match limit {
            Some(limit) if transactions.len() > limit => {
                transactions.truncate(limit);
                transactions.last().and_then(TransactionCursor::after)
            }
            _ => None,
        };
        Ok(TransactionPage { transactions, next })
    }

    /// The user's spending and income in `month` (`YYYY-MM`) per category and currency.
    pub async fn spending(
        &self,
        tenant: TenantId,
        user: UserId,
        month: &str,
    ) -> Result<Vec<SpendingLine>, EngineError> {
        let rows: Vec<SpendingRow> =
            fetch_all!(self.database(), SPENDING, tenant.to_string(), user.to_string(), month).map_err(store_error)?;
        rows.into_iter()
            .map(|(category, currency, flow, total_micros, count)| {
                let currency = Currency::parse(&currency).map_err(|e| corrupt("currency", e))?;
                let total = Decimal::new(total_micros, MICROS.ilog10()).normalize();
                Ok(SpendingLine {
                    category,
                    flow,
                    total: Money::new(total, currency).map_err(|e| corrupt("spending total", e))?,
                    count,
                })
            })
            .collect()
    }

    /// Adds a categorisation rule of `tenant`. It applies to transactions projected from now on; replay the
    /// `transactions` and `spending` projections to re-categorise history. An invalid rule is refused with
    /// the field at fault (`rule.keyword`, `rule.pattern`, ...).
    pub async fn add_categorisation_rule(&self, tenant: TenantId, rule: Rule) -> Result<Uuid, EngineError> {
        Categoriser::new(vec![rule.clone()]).map_err(|error| {
            let consentry_projections::categorise::RuleError::Invalid { field, problem, .. } = error;
            EngineError::InvalidInput(FieldError::new(format!("rule.{field}"), problem))
        })?;
        let id = Uuid::new_v4();
        let json = serde_json::to_string(&rule).map_err(|e| EngineError::Store(e.to_string()))?;
        execute!(
            self.database(),
            INSERT_RULE,
            id.to_string(),
            tenant.to_string(),
            rule.priority,
            json,
            self.now()
        )
        .map_err(store_error)?;
        Ok(id)
    }

    /// The tenant's own rules, highest priority first (the default rules are not listed).
    pub async fn categorisation_rules(&self, tenant: TenantId) -> Result<Vec<TenantRule>, EngineError> {
        let rows: Vec<(String, String)> =
            fetch_all!(self.database(), LIST_RULES, tenant.to_string()).map_err(store_error)?;
        rows.into_iter()
            .map(|(id, rule)| {
                Ok(TenantRule {
                    id: Uuid::parse_str(&id).map_err(|e| corrupt("rule id", e))?,
                    rule: serde_json::from_str(&rule).map_err(|e| corrupt("rule", e))?,
                })
            })
            .collect()
    }

    /// Deletes one of the tenant's rules; false when the tenant has no rule of that id.
    pub async fn delete_categorisation_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool, EngineError> {
        let deleted =
            execute!(self.database(), DELETE_RULE, tenant.to_string(), id.to_string()).map_err(store_error)?;
        Ok(deleted > 0)
    }
}
