//! The `payments` and `payment_status_changes` tables read back: a user's payment orders, each with every
//! status it reached.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use consentry_domain::payment::{InitiationPhase, PaymentProduct, PaymentService, TransactionStatus};
use consentry_domain::{Money, PaymentId, TenantId, UserId};
use consentry_store::{Database, Statement};

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
