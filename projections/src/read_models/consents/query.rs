//! The `consents` table read back: a user's consents as views, and the user's valid consents.

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::{BankId, ConsentId, TenantId, UserId};
use consentry_store::{Database, Statement};

use crate::read_models::queries::{rows_of_user, QueryError, Table};

/// A user's consents: by bank, the newest first.
const OF_USER: Statement = Statement::each(
    include_str!("sql/of_user.postgres.sql"),
    include_str!("sql/of_user.sqlite.sql"),
);

/// A user's valid consents, by bank.
const VALID_OF_USER: Statement = Statement::each(
    include_str!("sql/valid_of_user.postgres.sql"),
    include_str!("sql/valid_of_user.sqlite.sql"),
);

const TABLE: Table = Table::of("consents");

/// What a consent gives access to, without the account lists of a dedicated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccessKind {
    AllPsd2,
    AvailableAccounts,
    Dedicated,
}

impl AccessKind {
    pub fn of(access: &ConsentAccess) -> Self {
        match access {
            ConsentAccess::AllPsd2 => AccessKind::AllPsd2,
            ConsentAccess::AvailableAccounts => AccessKind::AvailableAccounts,
            ConsentAccess::Dedicated { .. } => AccessKind::Dedicated,
        }
    }

    /// The Berlin Group spelling, as the table stores it.
    pub fn as_str(&self) -> &'static str {
        match self {
            AccessKind::AllPsd2 => "allPsd2",
            AccessKind::AvailableAccounts => "availableAccounts",
            AccessKind::Dedicated => "dedicated",
        }
    }
}

/// A consent as the `consents` read model holds it, with the days it has left.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentView {
    pub consent: ConsentId,
    pub bank: String,
    pub access: Option<AccessKind>,
    pub recurring: Option<bool>,
    pub frequency_per_day: Option<i32>,
    pub valid_until: Option<NaiveDate>,
    /// `valid_until` minus the day the caller asked on (the engine's [`Clock`](consentry_domain::Clock)): 0 on
    /// the last valid day, negative after it.
    pub days_left: Option<i64>,
    pub status: Option<ConsentStatus>,
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

#[derive(sqlx::FromRow)]
struct ConsentRow {
    consent_id: String,
    bank: String,
    access: Option<String>,
    recurring: Option<bool>,
    frequency_per_day: Option<i32>,
    valid_until: Option<NaiveDate>,
    status: Option<String>,
    status_reason: Option<String>,
    sca_redirect_url: Option<String>,
    renewal_of: Option<String>,
    renewed_by: Option<String>,
    requested_at: Option<DateTime<Utc>>,
    authorised_at: Option<DateTime<Utc>>,
    status_changed_at: Option<DateTime<Utc>>,
}

impl ConsentRow {
    fn into_view(self, today: NaiveDate) -> Result<ConsentView, QueryError> {
        Ok(ConsentView {
            consent: TABLE.consent("consent_id", &self.consent_id)?,
            bank: self.bank,
            access: TABLE.optional_spelled("access", self.access.as_deref())?,
            recurring: self.recurring,
            frequency_per_day: self.frequency_per_day,
            valid_until: self.valid_until,
            days_left: self.valid_until.map(|until| (until - today).num_days()),
            status: TABLE.optional_spelled("status", self.status.as_deref())?,
            status_reason: self.status_reason,
            sca_redirect_url: self.sca_redirect_url,
            renewal_of: TABLE.optional_consent("renewal_of", self.renewal_of.as_deref())?,
            renewed_by: TABLE.optional_consent("renewed_by", self.renewed_by.as_deref())?,
            requested_at: self.requested_at,
            authorised_at: self.authorised_at,
            status_changed_at: self.status_changed_at,
        })
    }
}

/// The user's consents at every bank, whatever their status, with the days each has left on `today`.
pub async fn of_user(
    database: &Database,
    tenant: TenantId,
    user: UserId,
    today: NaiveDate,
) -> Result<Vec<ConsentView>, QueryError> {
    let rows: Vec<ConsentRow> = rows_of_user(database, &OF_USER, tenant, user).await?;
    rows.into_iter().map(|row| row.into_view(today)).collect()
}

/// A valid consent of a user, and its bank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidConsent {
    pub consent: ConsentId,
    pub bank: BankId,
}

#[derive(sqlx::FromRow)]
struct ValidConsentRow {
    consent_id: String,
    bank: String,
}

/// The user's valid consents, by bank.
pub async fn valid_of_user(
    database: &Database,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<ValidConsent>, QueryError> {
    let rows: Vec<ValidConsentRow> = rows_of_user(database, &VALID_OF_USER, tenant, user).await?;
    rows.into_iter()
        .map(|row| {
            Ok(ValidConsent {
                consent: TABLE.consent("consent_id", &row.consent_id)?,
                bank: BankId::parse(&row.bank).map_err(|e| TABLE.corrupt("bank", e))?,
            })
        })
        .collect()
}
