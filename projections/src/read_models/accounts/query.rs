//! The `accounts` and `balances` tables read back: a user's accounts, and one balance per account of the type
//! the caller prefers.

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::bank::BalanceType;
use consentry_domain::{ConsentId, Currency, Money, TenantId, UserId};
use consentry_store::{Database, Statement};

use crate::read_models::queries::{rows_of_user, QueryError, Table};

/// A user's accounts, by bank.
const OF_USER: Statement = Statement::each(
    include_str!("sql/of_user.postgres.sql"),
    include_str!("sql/of_user.sqlite.sql"),
);

/// Every balance of a user's accounts, by account.
const BALANCES_OF_USER: Statement = Statement::each(
    include_str!("sql/balances_of_user.postgres.sql"),
    include_str!("sql/balances_of_user.sqlite.sql"),
);

const ACCOUNTS: Table = Table::of("accounts");
const BALANCES: Table = Table::of("balances");

/// The balance types a user sees first, in order; the others follow by name.
pub const BALANCE_PREFERENCE: &[BalanceType] = &[BalanceType::InterimAvailable, BalanceType::ClosingBooked];

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
    pub balance_type: BalanceType,
    pub amount: Money,
    pub reference_date: Option<NaiveDate>,
    pub observed_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    consent_id: String,
    account_id: String,
    bank: String,
    iban: Option<String>,
    currency: String,
    name: Option<String>,
    product: Option<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct BalanceRow {
    consent_id: String,
    account_id: String,
    balance_type: String,
    amount: String,
    currency: String,
    reference_date: Option<NaiveDate>,
    observed_at: DateTime<Utc>,
}

impl BalanceRow {
    fn into_view(self) -> Result<BalanceView, QueryError> {
        let balance_type = BalanceType::parse(&self.balance_type)
            .ok_or_else(|| BALANCES.corrupt("balance_type", format!("{:?} is not a known value", self.balance_type)))?;
        Ok(BalanceView {
            consent: BALANCES.consent("consent_id", &self.consent_id)?,
            account_id: self.account_id,
            balance_type,
            amount: BALANCES.money(&self.amount, &self.currency)?,
            reference_date: self.reference_date,
            observed_at: self.observed_at,
        })
    }
}

/// The user's accounts at every bank.
pub async fn of_user(database: &Database, tenant: TenantId, user: UserId) -> Result<Vec<AccountView>, QueryError> {
    let rows: Vec<AccountRow> = rows_of_user(database, &OF_USER, tenant, user).await?;
    rows.into_iter()
        .map(|row| {
            Ok(AccountView {
                consent: ACCOUNTS.consent("consent_id", &row.consent_id)?,
                account_id: row.account_id,
                bank: row.bank,
                iban: row.iban,
                currency: ACCOUNTS.currency("currency", &row.currency)?,
                name: row.name,
                product: row.product,
                first_seen: row.first_seen,
                last_seen: row.last_seen,
            })
        })
        .collect()
}

/// Orders balance types: the preferred ones in `preference` order, then the rest by name.
fn rank(preference: &[BalanceType], balance_type: BalanceType) -> (usize, &'static str) {
    let position = preference
        .iter()
        .position(|p| *p == balance_type)
        .unwrap_or(preference.len());
    (position, balance_type.as_str())
}

/// One balance per account of the user: the first of `preference` the bank reported, else the first other by
/// name.
pub async fn balances_of_user(
    database: &Database,
    tenant: TenantId,
    user: UserId,
    preference: &[BalanceType],
) -> Result<Vec<BalanceView>, QueryError> {
    let rows: Vec<BalanceRow> = rows_of_user(database, &BALANCES_OF_USER, tenant, user).await?;
    let mut best: Vec<BalanceView> = Vec::new();
    for row in rows {
        let view = row.into_view()?;
        match best
            .iter_mut()
            .find(|b| b.consent == view.consent && b.account_id == view.account_id)
        {
            Some(current) => {
                if rank(preference, view.balance_type) < rank(preference, current.balance_type) {
                    *current = view;
                }
            }
            None => best.push(view),
        }
    }
    Ok(best)
}
