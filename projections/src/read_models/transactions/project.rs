//! The `transactions` projection: AccountData's `TransactionsObserved`, categorised, as one row per transaction.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::account_data::{AccountDataEvent, ObservedTransaction};
use consentry_store::{Backend, Statement};
use serde::Serialize;

use super::BookingState;
use crate::feed::{self, Interest};
use crate::read_models::account_information::{account_data, facts, Owner, PlanContext};
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::{Staged, Write};
use crate::{FeedEvent, ProjectionError};

/// Pending rows replaced by their booking (under another id).
const DELETE: Statement = Statement::each(
    include_str!("sql/delete.postgres.sql"),
    include_str!("sql/delete.sqlite.sql"),
);
/// New and changed transactions, merged: the bank's latest word on each.
const UPSERT: Staged = Staged {
    create: Statement::both(include_str!("sql/create_incoming.sql")),
    fill: Statement::each(
        include_str!("sql/stage.postgres.sql"),
        include_str!("sql/stage.sqlite.sql"),
    ),
    merge: Statement::both(include_str!("sql/merge.sql")),
    clear: Statement::both(include_str!("sql/clear_incoming.sql")),
};
/// Pending rows that disappeared from the bank's reports without being booked: kept, marked.
const MARK_VANISHED: Statement = Statement::each(
    include_str!("sql/mark_vanished.postgres.sql"),
    include_str!("sql/mark_vanished.sqlite.sql"),
);

/// Empties the real table at the end of a rebuild on SQLite.
const CLEAR: &[&str] = &[include_str!("sql/clear.sqlite.sql")];

const SHADOWS: &[Shadow] = &[Shadow {
    create: include_str!("sql/shadow.sqlite.sql"),
    key: include_str!("sql/shadow_key.sqlite.sql"),
    copy: include_str!("sql/copy_shadow.sqlite.sql"),
}];

/// Projection `transactions`.
pub(crate) struct Transactions;

impl ReadModel for Transactions {
    fn name(&self) -> &'static str {
        "transactions"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["transactions"]
    }

    fn clear(&self) -> &'static [&'static str] {
        CLEAR
    }

    fn shadows(&self) -> &'static [Shadow] {
        SHADOWS
    }

    fn interest(&self) -> Interest {
        feed::ACCOUNT_INFORMATION_INTEREST
    }

    fn needs(&self) -> Needs {
        Needs::OwnersAndRules
    }

    fn plan(&self, events: &[FeedEvent], _: Backend, context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        plan(events, context)
    }
}

type TransactionKey = (String, String, String);

#[derive(Debug, Serialize)]
struct TransactionKeyRow<'a> {
    consent_id: &'a str,
    account_id: &'a str,
    transaction_id: &'a str,
}

impl<'a> TransactionKeyRow<'a> {
    fn of((consent_id, account_id, transaction_id): &'a TransactionKey) -> Self {
        Self {
            consent_id,
            account_id,
            transaction_id,
        }
    }
}

#[derive(Debug, Serialize)]
struct TransactionRow {
    consent_id: String,
    account_id: String,
    transaction_id: String,
    #[serde(flatten)]
    owner: Owner,
    status: &'static str,
    booking_date: Option<NaiveDate>,
    value_date: Option<NaiveDate>,
    amount: String,
    currency: String,
    counterparty: Option<String>,
    description: String,
    category: String,
    flow: &'static str,
    observed_at: DateTime<Utc>,
}

/// What a batch does to the `transactions` table, folded so each key is written once and in order.
#[derive(Default)]
struct TransactionChanges {
    deleted: BTreeSet<TransactionKey>,
    upserted: BTreeMap<TransactionKey, TransactionRow>,
    vanished: BTreeSet<TransactionKey>,
}

impl TransactionChanges {
    fn upsert(&mut self, row: TransactionRow) {
        let key = (
            row.consent_id.clone(),
            row.account_id.clone(),
            row.transaction_id.clone(),
        );
        self.deleted.remove(&key);
        self.vanished.remove(&key);
        self.upserted.insert(key, row);
    }

    fn delete(&mut self, key: TransactionKey) {
        self.upserted.remove(&key);
        self.vanished.remove(&key);
        self.deleted.insert(key);
    }

    fn vanish(&mut self, key: TransactionKey) {
        match self.upserted.get_mut(&key) {
            Some(row) => row.status = BookingState::Vanished.as_str(),
            None => {
                self.vanished.insert(key);
            }
        }
    }
}

pub(in crate::read_models) fn plan(events: &[FeedEvent], context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
    let mut changes = TransactionChanges::default();
    for decoded in account_data(events) {
        let (stored, event, at) = decoded?;
        let AccountDataEvent::TransactionsObserved {
            account,
            booked,
            pending,
            booked_pending,
            vanished,
            ..
        } = event
        else {
            continue;
        };
        let consent = &stored.aggregate_id;
        let owner = context.owner(consent)?;
        let categoriser = context.categoriser(owner.tenant_id)?;
        let row = |transaction: ObservedTransaction, status: BookingState| {
            let description = transaction.description();
            let categorised = categoriser.categorise(&facts(&transaction, &description));
            TransactionRow {
                consent_id: consent.clone(),
                account_id: account.clone(),
                transaction_id: transaction.id.clone(),
                owner: owner.clone(),
                status: status.as_str(),
                booking_date: transaction.booking_date,
                value_date: transaction.value_date,
                amount: transaction.amount.amount().to_string(),
                currency: transaction.amount.currency().code().to_owned(),
                counterparty: transaction.counterparty_name.clone(),
                category: categorised.category.to_owned(),
                flow: categorised.flow.as_str(),
                description,
                observed_at: at,
            }
        };
        for transaction in pending {
            changes.upsert(row(transaction, BookingState::Pending));
        }
        for transaction in booked {
            changes.upsert(row(transaction, BookingState::Booked));
        }
        for replaced in booked_pending {
            changes.delete((consent.clone(), account.clone(), replaced.pending_id));
            changes.upsert(row(replaced.booked, BookingState::Booked));
        }
        for id in vanished {
            changes.vanish((consent.clone(), account.clone(), id));
        }
    }
    let deleted: Vec<TransactionKeyRow> = changes.deleted.iter().map(TransactionKeyRow::of).collect();
    let vanished: Vec<TransactionKeyRow> = changes.vanished.iter().map(TransactionKeyRow::of).collect();
    let upserted: Vec<TransactionRow> = changes.upserted.into_values().collect();
    let mut writes: Vec<Write> = Write::json(DELETE, &deleted)?.into_iter().collect();
    writes.extend(UPSERT.json_writes(&upserted)?);
    writes.extend(Write::json(MARK_VANISHED, &vanished)?);
    Ok(writes)
}
