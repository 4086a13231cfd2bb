//! The `payments` and `payment_status_changes` tables read back: a user's payment orders, each with every
//! status it reached.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consentry_domain::payment::{InitiationPhase, PaymentProduct, PaymentService, TransactionStatus};
use consentry_domain::{Money, PaymentId, TenantId, UserId};
use consentry_store::{on_pool, Database, Statement};

use crate::read_models::queries::{rows_of_user, QueryError, Table};

/// A user's payment orders, the newest first.
const OF_USER: Statement = Statement::each(
    include_str!("sql/of_user.postgres.sql"),
    include_str!("sql/of_user.sqlite.sql"),
);

/// The statuses a user's payments reached, oldest first per payment.
const STATUS_CHANGES_OF_USER: Statement = Statement::each(
    include_str!("sql/status_changes_of_user.postgres.sql"),
    include_str!("sql/status_changes_of_user.sqlite.sql"),
);

/// The payments named by a JSON array of ids, as a status poll needs them.
const POLL_TARGETS: Statement = Statement::each(
    include_str!("sql/poll_targets.postgres.sql"),
    include_str!("sql/poll_targets.sqlite.sql"),
);

const PAYMENTS: Table = Table::of("payments");
const STATUS_CHANGES: Table = Table::of("payment_status_changes");

/// A payment order as the `payments` read model holds it, with every status it reached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub payment: PaymentId,
    pub bank: String,
    pub service: Option<PaymentService>,
    pub product: Option<PaymentProduct>,
    pub creditor_name: Option<String>,
    pub amount: Money,
    /// Where the initiation stands with the bank.
    pub phase: Option<InitiationPhase>,
    /// The latest ISO 20022 transaction status.
    pub status: Option<TransactionStatus>,
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
    pub status: TransactionStatus,
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    payment_id: String,
    bank: String,
    service: Option<String>,
    product: Option<String>,
    creditor_name: Option<String>,
    amount: String,
    currency: String,
    phase: Option<String>,
    status: Option<String>,
    bank_payment_id: Option<String>,
    attempts: Option<i32>,
    cancellation_requested: Option<bool>,
    requested_at: Option<DateTime<Utc>>,
    status_changed_at: Option<DateTime<Utc>>,
}

impl PaymentRow {
    fn into_view(self, history: Vec<StatusChange>) -> Result<PaymentView, QueryError> {
        Ok(PaymentView {
            payment: PaymentId::parse(&self.payment_id).map_err(|e| PAYMENTS.corrupt("payment_id", e))?,
            bank: self.bank,
            service: PAYMENTS.optional_spelled("service", self.service.as_deref())?,
            product: PAYMENTS.optional_spelled("product", self.product.as_deref())?,
            creditor_name: self.creditor_name,
            amount: PAYMENTS.money(&self.amount, &self.currency)?,
            phase: PAYMENTS.optional_spelled("phase", self.phase.as_deref())?,
            status: PAYMENTS.optional_spelled("status", self.status.as_deref())?,
            bank_payment_id: self.bank_payment_id,
            attempts: self.attempts,
            cancellation_requested: self.cancellation_requested,
            requested_at: self.requested_at,
            status_changed_at: self.status_changed_at,
            history,
        })
    }
}

#[derive(sqlx::FromRow)]
struct StatusChangeRow {
    payment_id: String,
    status: String,
    changed_at: DateTime<Utc>,
}

/// The user's payment orders, newest first, each with the statuses it went through.
pub async fn of_user(database: &Database, tenant: TenantId, user: UserId) -> Result<Vec<PaymentView>, QueryError> {
    let rows: Vec<PaymentRow> = rows_of_user(database, &OF_USER, tenant, user).await?;
    let changes: Vec<StatusChangeRow> = rows_of_user(database, &STATUS_CHANGES_OF_USER, tenant, user).await?;
    let mut history: HashMap<String, Vec<StatusChange>> = HashMap::new();
    for change in changes {
        let status = STATUS_CHANGES.spelled("status", &change.status)?;
        history.entry(change.payment_id).or_default().push(StatusChange {
            status,
            at: change.changed_at,
        });
    }
    rows.into_iter()
        .map(|row| {
            let past = history.remove(&row.payment_id).unwrap_or_default();
            row.into_view(past)
        })
        .collect()
}

/// What a status poll needs of a payment, as the read model has it: whose it is, where the bank keeps it, and
/// the status last recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct PollTarget {
    pub payment: PaymentId,
    pub tenant: TenantId,
    pub user: UserId,
    pub bank: String,
    pub service: PaymentService,
    pub product: PaymentProduct,
    pub phase: Option<InitiationPhase>,
    pub status: Option<TransactionStatus>,
    pub bank_payment_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PollTargetRow {
    payment_id: String,
    tenant_id: Option<String>,
    user_id: Option<String>,
    bank: Option<String>,
    service: Option<String>,
    product: Option<String>,
    phase: Option<String>,
    status: Option<String>,
    bank_payment_id: Option<String>,
}

/// The poll targets of `payments` (ids as text), in one query: the scheduler reads a whole claimed batch at
/// once. A payment the read model does not have yet, or not whole, is left out.
pub async fn poll_targets(database: &Database, payments: &[&str]) -> Result<Vec<PollTarget>, QueryError> {
    let ids = serde_json::to_string(payments).map_err(|source| QueryError::Encoding {
        what: "payment ids",
        source,
    })?;
    let sql = POLL_TARGETS.sql(database.backend());
    let rows: Vec<PollTargetRow> = on_pool!(database, pool => sqlx::query_as(sql).bind(&ids).fetch_all(pool).await)?;
    let mut targets = Vec::with_capacity(rows.len());
    for row in rows {
        let (Some(tenant), Some(user), Some(bank), Some(service), Some(product)) =
            (row.tenant_id, row.user_id, row.bank, row.service, row.product)
        else {
            continue;
        };
        targets.push(PollTarget {
            payment: PaymentId::parse(&row.payment_id).map_err(|e| PAYMENTS.corrupt("payment_id", e))?,
            tenant: TenantId::parse(&tenant).map_err(|e| PAYMENTS.corrupt("tenant_id", e))?,
            user: UserId::parse(&user).map_err(|e| PAYMENTS.corrupt("user_id", e))?,
            bank,
            service: PAYMENTS.spelled("service", &service)?,
            product: PAYMENTS.spelled("product", &product)?,
            phase: PAYMENTS.optional_spelled("phase", row.phase.as_deref())?,
            status: PAYMENTS.optional_spelled("status", row.status.as_deref())?,
            bank_payment_id: row.bank_payment_id,
        });
    }
    Ok(targets)
}
