//! The account-information read models, filled from the AccountData aggregate (one per consent, same id):
//! `accounts` and `balances` (projection `accounts`), `transactions` and `spending`. AccountData events name
//! only the consent, so each of these projections keeps the shared `consent_owners` map (tenant, user, bank)
//! from ConsentRequested events, and the transactions and spending projections categorise with the default
//! rules plus the tenant's own (`categorisation_rules`). Both are loaded into a [`PlanContext`] before a batch
//! is planned; a rebuild therefore re-categorises history with the rules of the moment.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_domain::account_data::{AccountDataEvent, ObservedTransaction};
use consentry_domain::consent::ConsentEvent;
use consentry_domain::{TenantId, UserId};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{both_dialects, Dialect, Write};
use crate::categorise::{default_rules, Categoriser, Flow, Rule, RuleError, TransactionFacts};
use crate::connection::{on_conn, Conn};
use crate::feed::{self, DomainEvent};
use crate::{FeedEvent, ProjectionError};

pub(super) const CLEAR_ACCOUNTS: &[&str] = &["DELETE FROM balances", "DELETE FROM accounts"];
pub(super) const CLEAR_TRANSACTIONS: &[&str] = &["DELETE FROM transactions"];
pub(super) const CLEAR_SPENDING: &[&str] = &["DELETE FROM spending"];

const OWNERS_POSTGRES: &str = "
SELECT consent_id::text, tenant_id::text, user_id::text, bank
FROM consent_owners
WHERE consent_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))";
const OWNERS_SQLITE: &str = "
SELECT consent_id, tenant_id, user_id, bank
FROM consent_owners
WHERE consent_id IN (SELECT value FROM json_each($1))";

/// A tenant's rules in precedence order among equal priorities: the oldest first.
const RULES_POSTGRES: &str = "
SELECT tenant_id::text, rule
FROM categorisation_rules
WHERE tenant_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))
ORDER BY tenant_id, created_at, rule_id";
const RULES_SQLITE: &str = "
SELECT tenant_id, rule
FROM categorisation_rules
WHERE tenant_id IN (SELECT value FROM json_each($1))
ORDER BY tenant_id, created_at, rule_id";

both_dialects! {
    /// Consents are immutable facts, written by each batch that meets them (a live batch of each account-information
    /// projection, or once per rebuild batch): a second write changes nothing.
    INSERT_OWNERS_POSTGRES, INSERT_OWNERS_SQLITE = "
INSERT INTO consent_owners (consent_id, tenant_id, user_id, bank)" + {
        postgres: "
SELECT consent_id, tenant_id, user_id, bank
FROM json_to_recordset($1::json) AS r(consent_id uuid, tenant_id uuid, user_id uuid, bank text)",
        sqlite: "
SELECT value ->> 'consent_id', value ->> 'tenant_id', value ->> 'user_id', value ->> 'bank'
FROM json_each($1)
WHERE true"
    } + "
ON CONFLICT (consent_id) DO NOTHING"
}

both_dialects! {
    /// A re-observed account keeps when it was first seen; everything else is the bank's latest word.
    UPSERT_ACCOUNTS_POSTGRES, UPSERT_ACCOUNTS_SQLITE = "
INSERT INTO accounts (consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen,
                      last_seen)" + {
        postgres: "
SELECT consent_id, account_id, tenant_id, user_id, bank, iban, currency, name, product, first_seen, last_seen
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, tenant_id uuid, user_id uuid, bank text,
                                      iban text, currency text, name text, product text,
                                      first_seen timestamptz, last_seen timestamptz)",
        sqlite: "
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'tenant_id', value ->> 'user_id',
       value ->> 'bank', value ->> 'iban', value ->> 'currency', value ->> 'name', value ->> 'product',
       value ->> 'first_seen', value ->> 'last_seen'
FROM json_each($1)
WHERE true"
    } + "
ON CONFLICT (consent_id, account_id) DO UPDATE SET
    iban      = excluded.iban,
    currency  = excluded.currency,
    name      = excluded.name,
    product   = excluded.product,
    last_seen = excluded.last_seen"
}

both_dialects! {
    UPSERT_BALANCES_POSTGRES, UPSERT_BALANCES_SQLITE = "
INSERT INTO balances (consent_id, account_id, balance_type, tenant_id, user_id, amount, currency, reference_date,
                      observed_at)" + {
        postgres: "
SELECT consent_id, account_id, balance_type, tenant_id, user_id, amount, currency, reference_date, observed_at
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, balance_type text, tenant_id uuid,
                                      user_id uuid, amount numeric, currency text, reference_date date,
                                      observed_at timestamptz)",
        sqlite: "
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'balance_type', value ->> 'tenant_id',
       value ->> 'user_id', value ->> 'amount', value ->> 'currency', value ->> 'reference_date',
       value ->> 'observed_at'
FROM json_each($1)
WHERE true"
    } + "
ON CONFLICT (consent_id, account_id, balance_type) DO UPDATE SET
    amount         = excluded.amount,
    currency       = excluded.currency,
    reference_date = excluded.reference_date,
    observed_at    = excluded.observed_at"
}

/// Pending rows replaced by their booking (under another id).
const DELETE_TRANSACTIONS_POSTGRES: &str = "
DELETE FROM transactions t
USING json_to_recordset($1::json) AS r(consent_id uuid, account_id text, transaction_id text)
WHERE t.consent_id = r.consent_id AND t.account_id = r.account_id AND t.transaction_id = r.transaction_id";
const DELETE_TRANSACTIONS_SQLITE: &str = "
DELETE FROM transactions
WHERE (consent_id, account_id, transaction_id) IN
      (SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id' FROM json_each($1))";

both_dialects! {
    UPSERT_TRANSACTIONS_POSTGRES, UPSERT_TRANSACTIONS_SQLITE = "
INSERT INTO transactions (consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
                          value_date, amount, currency, counterparty, description, category, flow, observed_at)" + {
        postgres: "
SELECT consent_id, account_id, transaction_id, tenant_id, user_id, bank, status, booking_date,
       value_date, amount, currency, counterparty, description, category, flow, observed_at
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, transaction_id text, tenant_id uuid,
                                      user_id uuid, bank text, status text, booking_date date, value_date date,
                                      amount numeric, currency text, counterparty text, description text,
                                      category text, flow text, observed_at timestamptz)",
        sqlite: "
SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id', value ->> 'tenant_id',
       value ->> 'user_id', value ->> 'bank', value ->> 'status', value ->> 'booking_date', value ->> 'value_date',
       value ->> 'amount', value ->> 'currency', value ->> 'counterparty', value ->> 'description',
       value ->> 'category', value ->> 'flow', value ->> 'observed_at'
FROM json_each($1)
WHERE true"
    } + "
ON CONFLICT (consent_id, account_id, transaction_id) DO UPDATE SET
    status       = excluded.status,
    booking_date = excluded.booking_date,
    value_date   = excluded.value_date,
    amount       = excluded.amount,
    currency     = excluded.currency,
    counterparty = excluded.counterparty,
    description  = excluded.description,
    category     = excluded.category,
    flow         = excluded.flow,
    observed_at  = excluded.observed_at"
}

/// Pending rows that disappeared from the bank's reports without being booked: kept, marked.
const VANISH_TRANSACTIONS_POSTGRES: &str = "
UPDATE transactions t SET status = 'vanished'
FROM json_to_recordset($1::json) AS r(consent_id uuid, account_id text, transaction_id text)
WHERE t.consent_id = r.consent_id AND t.account_id = r.account_id AND t.transaction_id = r.transaction_id";
const VANISH_TRANSACTIONS_SQLITE: &str = "
UPDATE transactions SET status = 'vanished'
WHERE (consent_id, account_id, transaction_id) IN
      (SELECT value ->> 'consent_id', value ->> 'account_id', value ->> 'transaction_id' FROM json_each($1))";

both_dialects! {
    /// Totals grow by what the batch booked: integer millionths, so both stores add exactly.
    ADD_SPENDING_POSTGRES, ADD_SPENDING_SQLITE = "
INSERT INTO spending (tenant_id, user_id, month, category, currency, flow, total_micros, count)" + {
        postgres: "
SELECT tenant_id, user_id, month, category, currency, flow, total_micros, count
FROM json_to_recordset($1::json) AS r(tenant_id uuid, user_id uuid, month text, category text, currency text,
                                      flow text, total_micros bigint, count bigint)",
        sqlite: "
SELECT value ->> 'tenant_id', value ->> 'user_id', value ->> 'month', value ->> 'category', value ->> 'currency',
       value ->> 'flow', value ->> 'total_micros', value ->> 'count'
FROM json_each($1)
WHERE true"
    } + "
ON CONFLICT (tenant_id, user_id, month, category, currency, flow) DO UPDATE SET
    total_micros = spending.total_micros + excluded.total_micros,
    count        = spending.count + excluded.count"
}

/// Millionths per currency unit in `spending.total_micros`.
pub const MICROS: i64 = 1_000_000;

/// The default rules, compiled once for every batch of every tenant without rules of its own.
static DEFAULT_CATEGORISER: LazyLock<Result<Categoriser, RuleError>> =
    LazyLock::new(|| Categoriser::new(default_rules()));

/// Whose a consent is.
#[derive(Debug, Clone, Serialize)]
struct Owner {
    tenant_id: TenantId,
    user_id: UserId,
    bank: String,
}

/// What planning the account-information projections needs besides the events: the owners of the consents
/// and each tenant's categoriser. Loaded by [`prepare`] before a batch is planned.
#[derive(Default)]
pub(crate) struct PlanContext {
    owners: HashMap<String, Owner>,
    /// ConsentRequested events of the current batch, to record in `consent_owners`.
    requested: Vec<OwnerRow>,
    /// Tenants whose rules were loaded; the ones with rules of their own have a categoriser here.
    loaded: HashSet<TenantId>,
    categorisers: HashMap<TenantId, Categoriser>,
}

#[derive(Debug, Clone, Serialize)]
struct OwnerRow {
    consent_id: String,
    #[serde(flatten)]
    owner: Owner,
}

impl PlanContext {
    fn owner(&self, consent: &str) -> Result<&Owner, ProjectionError> {
        self.owners
            .get(consent)
            .ok_or_else(|| ProjectionError::UnknownConsent(consent.to_owned()))
    }

    fn categoriser(&self, tenant: TenantId) -> Result<&Categoriser, ProjectionError> {
        if let Some(own) = self.categorisers.get(&tenant) {
            return Ok(own);
        }
        if !self.loaded.contains(&tenant) {
            return Err(ProjectionError::InvalidRules {
                tenant: tenant.to_string(),
                reason: "the rules were not loaded before planning".into(),
            });
        }
        DEFAULT_CATEGORISER.as_ref().map_err(|e| ProjectionError::InvalidRules {
            tenant: "(default rules)".into(),
            reason: e.to_string(),
        })
    }

    /// Folds the batch's ConsentRequested events in, and returns the consents and tenants still to load.
    fn absorb(&mut self, events: &[FeedEvent]) -> Result<Vec<String>, ProjectionError> {
        self.requested.clear();
        let mut missing = BTreeSet::new();
        for stored in events {
            match stored.aggregate_type.as_str() {
                feed::CONSENT if stored.event_type == "ConsentRequested" => {
                    if let DomainEvent::Consent(ConsentEvent::ConsentRequested(request)) = stored.decode()? {
                        let owner = Owner {
                            tenant_id: request.tenant,
                            user_id: request.user,
                            bank: request.bank.to_string(),
                        };
                        self.owners.insert(stored.aggregate_id.clone(), owner.clone());
                        self.requested.push(OwnerRow {
                            consent_id: stored.aggregate_id.clone(),
                            owner,
                        });
                    }
                }
                feed::ACCOUNT_DATA if !self.owners.contains_key(&stored.aggregate_id) => {
                    missing.insert(stored.aggregate_id.clone());
                }
                _ => {}
            }
        }
        Ok(missing.into_iter().collect())
    }

    fn add_owners(&mut self, rows: Vec<(String, String, String, String)>) -> Result<(), ProjectionError> {
        for (consent, tenant, user, bank) in rows {
            let bad = |e: consentry_domain::FieldError| ProjectionError::Undecodable {
                event: format!("consent_owners row {consent}"),
                reason: e.to_string(),
            };
            let owner = Owner {
                tenant_id: TenantId::parse(&tenant).map_err(bad)?,
                user_id: UserId::parse(&user).map_err(bad)?,
                bank,
            };
            self.owners.insert(consent, owner);
        }
        Ok(())
    }

    /// Records the owners of the batch's ConsentRequested events in `consent_owners`. The runner writes it once
    /// per batch, whichever account-information projections the batch is for.
    pub(crate) fn owner_write(&self, dialect: Dialect) -> Result<Option<Write>, ProjectionError> {
        Write::rows(dialect, INSERT_OWNERS_POSTGRES, INSERT_OWNERS_SQLITE, &self.requested)
    }

    /// The tenants of the batch's AccountData events whose rules are not loaded yet.
    fn tenants_to_load(&self, events: &[FeedEvent]) -> Vec<TenantId> {
        let tenants: BTreeSet<TenantId> = events
            .iter()
            .filter(|e| e.aggregate_type == feed::ACCOUNT_DATA)
            .filter_map(|e| self.owners.get(&e.aggregate_id))
            .map(|owner| owner.tenant_id)
            .filter(|tenant| !self.loaded.contains(tenant))
            .collect();
        tenants.into_iter().collect()
    }

    /// Compiles each tenant's rules ahead of the defaults, so among equal priorities the tenant's rule wins.
    fn add_rules(&mut self, tenants: &[TenantId], rows: Vec<(String, String)>) -> Result<(), ProjectionError> {
        let mut by_tenant: BTreeMap<String, Vec<Rule>> = BTreeMap::new();
        for (tenant, rule) in rows {
            let parsed: Rule = serde_json::from_str(&rule).map_err(|e| ProjectionError::InvalidRules {
                tenant: tenant.clone(),
                reason: e.to_string(),
            })?;
            by_tenant.entry(tenant).or_default().push(parsed);
        }
        for (tenant, mut rules) in by_tenant {
            let invalid = |reason: String| ProjectionError::InvalidRules {
                tenant: tenant.clone(),
                reason,
            };
            let id = TenantId::parse(&tenant).map_err(|e| invalid(e.to_string()))?;
            rules.extend(default_rules());
            let categoriser = Categoriser::new(rules).map_err(|e| invalid(e.to_string()))?;
            self.categorisers.insert(id, categoriser);
        }
        self.loaded.extend(tenants.iter().copied());
        Ok(())
    }
}

fn json_list<T: Serialize>(items: &[T]) -> Result<String, ProjectionError> {
    Ok(serde_json::to_string(items)?)
}

/// Loads what planning `events` needs on an open connection or transaction: the owners of their consents, and
/// with `rules` the categorisation rules of those owners' tenants.
pub(crate) async fn prepare(
    conn: &mut Conn<'_>,
    context: &mut PlanContext,
    events: &[FeedEvent],
    rules: bool,
) -> Result<(), ProjectionError> {
    let dialect = conn.dialect();
    let missing = context.absorb(events)?;
    if !missing.is_empty() {
        let sql = dialect.pick(OWNERS_POSTGRES, OWNERS_SQLITE);
        let missing = json_list(&missing)?;
        let rows = on_conn!(conn, c => sqlx::query_as(sql).bind(&missing).fetch_all(&mut **c).await)?;
        context.add_owners(rows)?;
    }
    let tenants = context.tenants_to_load(events);
    if rules && !tenants.is_empty() {
        let sql = dialect.pick(RULES_POSTGRES, RULES_SQLITE);
        let list = json_list(&tenants)?;
        let rows = on_conn!(conn, c => sqlx::query_as(sql).bind(&list).fetch_all(&mut **c).await)?;
        context.add_rules(&tenants, rows)?;
    }
    Ok(())
}

/// The batch's AccountData events, decoded, with their consent and time.
fn account_data(
    events: &[FeedEvent],
) -> impl Iterator<Item = Result<(&FeedEvent, AccountDataEvent, DateTime<Utc>), ProjectionError>> {
    events
        .iter()
        .filter(|stored| stored.aggregate_type == feed::ACCOUNT_DATA)
        .filter_map(|stored| match stored.decode() {
            Ok(DomainEvent::AccountData(event)) => Some(stored.occurred_at().map(|at| (stored, event, at))),
            Ok(_) => None,
            Err(error) => Some(Err(error)),
        })
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

/// Projection `accounts`: `accounts` and `balances`.
pub(super) fn plan_accounts(
    events: &[FeedEvent],
    context: &PlanContext,
    dialect: Dialect,
) -> Result<Vec<Write>, ProjectionError> {
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
    let writes = [
        Write::rows(dialect, UPSERT_ACCOUNTS_POSTGRES, UPSERT_ACCOUNTS_SQLITE, &accounts)?,
        Write::rows(dialect, UPSERT_BALANCES_POSTGRES, UPSERT_BALANCES_SQLITE, &balances)?,
    ];
    Ok(writes.into_iter().flatten().collect())
}

fn flow_name(flow: Flow) -> &'static str {
    match flow {
        Flow::Spending => "spending",
        Flow::Income => "income",
    }
}

fn facts<'a>(transaction: &'a ObservedTransaction, description: &'a str) -> TransactionFacts<'a> {
    TransactionFacts {
        description,
        counterparty_iban: transaction.counterparty_iban.as_ref().map(|iban| iban.as_str()),
        bank_transaction_code: transaction.bank_transaction_code.as_deref(),
        amount: transaction.amount.amount(),
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
            Some(row) => row.status = "vanished",
            None => {
                self.vanished.insert(key);
            }
        }
    }
}

/// Projection `transactions`: one row per bank transaction, a pending row replaced by its booking.
pub(super) fn plan_transactions(
    events: &[FeedEvent],
    context: &PlanContext,
    dialect: Dialect,
) -> Result<Vec<Write>, ProjectionError> {
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
        let row = |transaction: ObservedTransaction, status: &'static str| {
            let description = transaction.description();
            let categorised = categoriser.categorise(&facts(&transaction, &description));
            TransactionRow {
                consent_id: consent.clone(),
                account_id: account.clone(),
                transaction_id: transaction.id.clone(),
                owner: owner.clone(),
                status,
                booking_date: transaction.booking_date,
                value_date: transaction.value_date,
                amount: transaction.amount.amount().to_string(),
                currency: transaction.amount.currency().code().to_owned(),
                counterparty: transaction.counterparty_name.clone(),
                category: categorised.category.to_owned(),
                flow: flow_name(categorised.flow),
                description,
                observed_at: at,
            }
        };
        for transaction in pending {
            changes.upsert(row(transaction, "pending"));
        }
        for transaction in booked {
            changes.upsert(row(transaction, "booked"));
        }
        for replaced in booked_pending {
            changes.delete((consent.clone(), account.clone(), replaced.pending_id));
            changes.upsert(row(replaced.booked, "booked"));
        }
        for id in vanished {
            changes.vanish((consent.clone(), account.clone(), id));
        }
    }
    let deleted: Vec<TransactionKeyRow> = changes.deleted.iter().map(TransactionKeyRow::of).collect();
    let vanished: Vec<TransactionKeyRow> = changes.vanished.iter().map(TransactionKeyRow::of).collect();
    let upserted: Vec<TransactionRow> = changes.upserted.into_values().collect();
    let writes = [
        Write::rows(
            dialect,
            DELETE_TRANSACTIONS_POSTGRES,
            DELETE_TRANSACTIONS_SQLITE,
            &deleted,
        )?,
        Write::rows(
            dialect,
            UPSERT_TRANSACTIONS_POSTGRES,
            UPSERT_TRANSACTIONS_SQLITE,
            &upserted,
        )?,
        Write::rows(
            dialect,
            VANISH_TRANSACTIONS_POSTGRES,
            VANISH_TRANSACTIONS_SQLITE,
            &vanished,
        )?,
    ];
    Ok(writes.into_iter().flatten().collect())
}

/// (tenant, user, month, category, currency, flow).
type SpendingKey = (TenantId, UserId, String, String, String, &'static str);

#[derive(Debug, Serialize)]
struct SpendingRow {
    tenant_id: TenantId,
    user_id: UserId,
    month: String,
    category: String,
    currency: String,
    flow: &'static str,
    total_micros: i64,
    count: i64,
}

/// An absolute amount in exact millionths of its unit.
fn to_micros(amount: Decimal) -> Result<i64, ProjectionError> {
    let scaled = amount.abs() * Decimal::from(MICROS);
    if scaled.fract() != Decimal::ZERO {
        return Err(ProjectionError::AmountPrecision(amount.to_string()));
    }
    scaled
        .to_i64()
        .ok_or_else(|| ProjectionError::AmountPrecision(amount.to_string()))
}

/// Projection `spending`: booked transactions only (a pending one is not spent yet), absolute amounts summed
/// within their flow, so income never offsets spending.
pub(super) fn plan_spending(
    events: &[FeedEvent],
    context: &PlanContext,
    dialect: Dialect,
) -> Result<Vec<Write>, ProjectionError> {
    let mut totals: BTreeMap<SpendingKey, (i64, i64)> = BTreeMap::new();
    for decoded in account_data(events) {
        let (stored, event, at) = decoded?;
        let AccountDataEvent::TransactionsObserved {
            booked, booked_pending, ..
        } = event
        else {
            continue;
        };
        let owner = context.owner(&stored.aggregate_id)?;
        let categoriser = context.categoriser(owner.tenant_id)?;
        let bookings = booked.into_iter().chain(booked_pending.into_iter().map(|b| b.booked));
        for transaction in bookings {
            let description = transaction.description();
            let categorised = categoriser.categorise(&facts(&transaction, &description));
            let day = transaction.date().unwrap_or_else(|| at.date_naive());
            let key = (
                owner.tenant_id,
                owner.user_id,
                day.format("%Y-%m").to_string(),
                categorised.category.to_owned(),
                transaction.amount.currency().code().to_owned(),
                flow_name(categorised.flow),
            );
            let micros = to_micros(transaction.amount.amount())?;
            let entry = totals.entry(key).or_default();
            entry.0 += micros;
            entry.1 += 1;
        }
    }
    let rows: Vec<SpendingRow> = totals
        .into_iter()
        .map(
            |((tenant_id, user_id, month, category, currency, flow), (total_micros, count))| SpendingRow {
                tenant_id,
                user_id,
                month,
                category,
                currency,
                flow,
                total_micros,
                count,
            },
        )
        .collect();
    Ok(Write::rows(dialect, ADD_SPENDING_POSTGRES, ADD_SPENDING_SQLITE, &rows)?
        .into_iter()
        .collect())
}

#[cfg(test)]
mod tests {
    use consentry_domain::account_data::PendingBooking;
    use consentry_domain::consent::{ConsentAccess, ConsentRequest};
    use consentry_domain::{BankId, Money};
    use serde_json::Value;

    use super::*;

    const CONSENT: &str = "0b7c0a3e-6d2b-4c39-9d6c-1f2a3b4c5d6e";

    fn stored(aggregate_type: &str, sequence: i64, event_type: &str, payload: String) -> FeedEvent {
        FeedEvent {
            transaction_id: 0,
            position: sequence,
            aggregate_type: aggregate_type.into(),
            aggregate_id: CONSENT.into(),
            sequence,
            event_type: event_type.into(),
            event_version: "1.0".into(),
            payload: Some(payload),
            occurred_at: Some(format!("2026-05-{:02}T08:00:00Z", sequence + 1)),
        }
    }

    fn transaction(id: &str, amount: &str, day: u32, name: &str) -> ObservedTransaction {
        ObservedTransaction {
            id: id.into(),
            entry_reference: None,
            booking_date: NaiveDate::from_ymd_opt(2026, 5, day),
            value_date: NaiveDate::from_ymd_opt(2026, 5, day),
            amount: Money::parse("amount", amount, "EUR").expect("amount"),
            counterparty_name: Some(name.into()),
            counterparty_iban: None,
            remittance_information: None,
            bank_transaction_code: None,
        }
    }

    fn observed(sequence: i64, event: AccountDataEvent) -> FeedEvent {
        let event_type = match event {
            AccountDataEvent::TransactionsObserved { .. } => "TransactionsObserved",
            _ => "Other",
        };
        let payload = serde_json::to_string(&event).expect("payload");
        stored(feed::ACCOUNT_DATA, sequence, event_type, payload)
    }

    fn report(
        booked: Vec<ObservedTransaction>,
        pending: Vec<ObservedTransaction>,
        booked_pending: Vec<PendingBooking>,
        vanished: Vec<String>,
    ) -> AccountDataEvent {
        AccountDataEvent::TransactionsObserved {
            account: "acc-1".into(),
            date_from: NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"),
            date_to: NaiveDate::from_ymd_opt(2026, 5, 31).expect("date"),
            booked,
            pending,
            booked_pending,
            vanished,
        }
    }

    /// A consent, a pending card payment booked later under a new id, a pending hold that vanishes, and a
    /// salary: all in one batch.
    fn batch() -> (Vec<FeedEvent>, PlanContext) {
        let request = ConsentEvent::ConsentRequested(ConsentRequest {
            tenant: TenantId::new(),
            user: UserId::new(),
            bank: BankId::parse("seb").expect("bank"),
            access: ConsentAccess::AllPsd2,
            recurring_indicator: true,
            valid_until: NaiveDate::from_ymd_opt(2026, 8, 1).expect("date"),
            frequency_per_day: 4,
            renewal_of: None,
        });
        let events = vec![
            stored(
                feed::CONSENT,
                0,
                "ConsentRequested",
                serde_json::to_string(&request).expect("payload"),
            ),
            observed(
                1,
                report(
                    vec![transaction("salary", "2500.00", 2, "Employer salary")],
                    vec![
                        transaction("p-1", "-12.30", 3, "Maxima"),
                        transaction("p-2", "-40.00", 3, "Hotel hold"),
                    ],
                    Vec::new(),
                    Vec::new(),
                ),
            ),
            observed(
                2,
                report(
                    Vec::new(),
                    Vec::new(),
                    vec![PendingBooking {
                        pending_id: "p-1".into(),
                        booked: transaction("b-1", "-12.30", 4, "Maxima"),
                    }],
                    vec!["p-2".into()],
                ),
            ),
        ];
        let mut context = PlanContext::default();
        let missing = context.absorb(&events).expect("absorb");
        assert!(missing.is_empty(), "the batch itself names the owner");
        let tenants = context.tenants_to_load(&events);
        context.add_rules(&tenants, Vec::new()).expect("rules");
        (events, context)
    }

    fn rows(write: &Write) -> Vec<Value> {
        match write {
            Write::Json { rows, .. } => serde_json::from_str(rows).expect("rows"),
            Write::Columns { .. } => panic!("JSON rows expected"),
        }
    }

    fn sql(write: &Write) -> &str {
        match write {
            Write::Json { sql, .. } | Write::Columns { sql, .. } => sql,
        }
    }

    #[test]
    fn a_booking_replaces_its_pending_row_and_a_vanished_one_is_kept() {
        let (events, context) = batch();
        // The batch's ConsentRequested names the owner, recorded once per batch by the runner.
        let owners = context
            .owner_write(Dialect::Postgres)
            .expect("owners")
            .expect("an owner row");
        assert_eq!(rows(&owners).len(), 1);
        let writes = plan_transactions(&events, &context, Dialect::Postgres).expect("plan");
        // The hold vanishes in the batch that saw it pending, so its row is written as vanished at once.
        let [deleted, upserted] = writes.as_slice() else {
            panic!("deletes and upserts expected, got {} writes", writes.len());
        };
        assert!(sql(deleted).contains("DELETE"));
        assert_eq!(rows(deleted)[0]["transaction_id"], "p-1");
        let upserted = rows(upserted);
        let status: BTreeMap<&str, &str> = upserted
            .iter()
            .filter_map(|r| Some((r["transaction_id"].as_str()?, r["status"].as_str()?)))
            .collect();
        assert_eq!(
            status,
            BTreeMap::from([("b-1", "booked"), ("p-2", "vanished"), ("salary", "booked")])
        );
        let maxima = upserted.iter().find(|r| r["transaction_id"] == "b-1").expect("b-1");
        assert_eq!(
            (&maxima["category"], &maxima["flow"]),
            (&"groceries".into(), &"spending".into())
        );

        // Seen in a later batch, the vanishing marks the stored row.
        let later = plan_transactions(&events[2..], &context, Dialect::Postgres).expect("plan");
        let vanished = later.last().expect("vanished write");
        assert!(sql(vanished).contains("'vanished'"));
        assert_eq!(rows(vanished)[0]["transaction_id"], "p-2");
    }

    #[test]
    fn spending_counts_bookings_only_and_keeps_income_apart() {
        let (events, context) = batch();
        let writes = plan_spending(&events, &context, Dialect::Postgres).expect("plan");
        let [totals] = writes.as_slice() else {
            panic!("totals expected, got {} writes", writes.len());
        };
        let totals: BTreeMap<(String, String), (i64, i64)> = rows(totals)
            .iter()
            .map(|r| {
                (
                    (
                        r["category"].as_str().unwrap_or_default().to_owned(),
                        r["flow"].as_str().unwrap_or_default().to_owned(),
                    ),
                    (
                        r["total_micros"].as_i64().unwrap_or_default(),
                        r["count"].as_i64().unwrap_or_default(),
                    ),
                )
            })
            .collect();
        assert_eq!(
            totals,
            BTreeMap::from([
                (("groceries".into(), "spending".into()), (12_300_000, 1)),
                (("salary".into(), "income".into()), (2_500_000_000, 1)),
            ])
        );
    }

    #[test]
    fn an_amount_beyond_a_millionth_is_refused() {
        assert_eq!(to_micros(Decimal::new(-1230, 2)).ok(), Some(12_300_000));
        assert!(to_micros(Decimal::new(1, 7)).is_err());
    }
}
