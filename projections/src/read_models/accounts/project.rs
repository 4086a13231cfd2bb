//! The `accounts` projection: AccountData's `AccountsObserved` and `BalancesObserved` as rows of `accounts` and
//! `balances`.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::account_data::AccountDataEvent;
use consentry_domain::{TenantId, UserId};
use consentry_store::{Backend, Statement};
use serde::Serialize;

use crate::feed::{self, Interest};
use crate::read_models::account_information::{account_data, Owner, PlanContext};
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::{Staged, Write};
use crate::{FeedEvent, ProjectionError};

/// A re-observed account keeps when it was first seen; everything else is the bank's latest word.
const UPSERT_ACCOUNTS: Staged = Staged {
    create: Statement::both(include_str!("sql/create_incoming_accounts.sql")),
    fill: Statement::each(
        include_str!("sql/stage_accounts.postgres.sql"),
        include_str!("sql/stage_accounts.sqlite.sql"),
    ),
    merge: Statement::both(include_str!("sql/merge_accounts.sql")),
    clear: Statement::both(include_str!("sql/clear_incoming_accounts.sql")),
};
const UPSERT_BALANCES: Statement = Statement::each(
    include_str!("sql/upsert_balances.postgres.sql"),
    include_str!("sql/upsert_balances.sqlite.sql"),
);

/// Empties the real tables at the end of a rebuild on SQLite, children first.
const CLEAR: &[&str] = &[
    include_str!("sql/clear_balances.sqlite.sql"),
    include_str!("sql/clear.sqlite.sql"),
];

const SHADOWS: &[Shadow] = &[
    Shadow {
        create: include_str!("sql/shadow.sqlite.sql"),
        key: include_str!("sql/shadow_key.sqlite.sql"),
        copy: include_str!("sql/copy_shadow.sqlite.sql"),
    },
    Shadow {
        create: include_str!("sql/balances_shadow.sqlite.sql"),
        key: include_str!("sql/balances_shadow_key.sqlite.sql"),
        copy: include_str!("sql/balances_copy_shadow.sqlite.sql"),
    },
];

/// Projection `accounts`.
pub(crate) struct Accounts;

impl ReadModel for Accounts {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["accounts", "balances"]
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
        Needs::Owners
    }

    fn plan(&self, events: &[FeedEvent], _: Backend, context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        plan(events, context)
    }
}

#[derive(Debug, Serialize)]
struct AccountRow {
    consent_id: String,
    account_id: String,
    #[serde(flatten)]
    owner: Owner,
    iban: Option<String>,
    currency: String,
    name: Option<String>,
    product: Option<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct BalanceRow {
    consent_id: String,
    account_id: String,
    balance_type: String,
    tenant_id: TenantId,
    user_id: UserId,
    amount: String,
    currency: String,
    reference_date: Option<NaiveDate>,
    observed_at: DateTime<Utc>,
}

fn plan(events: &[FeedEvent], context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
    let mut accounts: BTreeMap<(String, String), AccountRow> = BTreeMap::new();
    let mut balances: BTreeMap<(String, String, String), BalanceRow> = BTreeMap::new();
    for decoded in account_data(events) {
        let (stored, event, at) = decoded?;
        let consent = &stored.aggregate_id;
        let owner = context.owner(consent)?;
        match event {
            AccountDataEvent::AccountsObserved { accounts: observed, .. } => {
                for account in observed {
                    let key = (consent.clone(), account.resource_id.clone());
                    let first_seen = accounts.get(&key).map_or(at, |row| row.first_seen);
                    accounts.insert(
                        key,
                        AccountRow {
                            consent_id: consent.clone(),
                            account_id: account.resource_id,
                            owner: owner.clone(),
                            iban: account.iban.map(|iban| iban.as_str().to_owned()),
                            currency: account.currency.code().to_owned(),
                            name: account.name,
                            product: account.product,
                            first_seen,
                            last_seen: at,
                        },
                    );
                }
            }
            AccountDataEvent::BalancesObserved {
                account,
                balances: observed,
            } => {
                for balance in observed {
                    let key = (consent.clone(), account.clone(), balance.balance_type.clone());
                    balances.insert(
                        key,
                        BalanceRow {
                            consent_id: consent.clone(),
                            account_id: account.clone(),
                            balance_type: balance.balance_type,
                            tenant_id: owner.tenant_id,
                            user_id: owner.user_id,
                            amount: balance.amount.amount().to_string(),
                            currency: balance.amount.currency().code().to_owned(),
                            reference_date: balance.reference_date,
                            observed_at: at,
                        },
                    );
                }
            }
            AccountDataEvent::TransactionsObserved { .. } => {}
        }
    }
    let accounts: Vec<AccountRow> = accounts.into_values().collect();
    let balances: Vec<BalanceRow> = balances.into_values().collect();
    let mut writes = UPSERT_ACCOUNTS.json_writes(&accounts)?;
    writes.extend(Write::json(UPSERT_BALANCES, &balances)?);
    Ok(writes)
}
