//! What the account-information read models (`accounts`, `transactions`, `spending`) share. AccountData events
//! name only the consent, so these projections keep the `consent_owners` table (tenant, user, bank) from
//! ConsentRequested events, and the transactions and spending projections categorise with the default rules
//! plus the tenant's own (`categorisation_rules`). Both are loaded into a [`PlanContext`] before a batch is
//! planned; a rebuild therefore re-categorises history with the rules of the moment.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use consentry_domain::account_data::{AccountDataEvent, ObservedTransaction};
use consentry_domain::consent::ConsentEvent;
use consentry_domain::{TenantId, UserId};
use consentry_store::{on_conn, Backend, Conn, Statement};
use serde::Serialize;

use super::rules::{self, StoredRule};
use super::write::{aggregate_uuid, Columns, Write};
use crate::categorise::{default_rules, Categoriser, Rule, RuleError, TransactionFacts};
use crate::feed::{self, DomainEvent};
use crate::{FeedEvent, ProjectionError};

/// The owners of some consents (`$1`: a JSON array of consent ids).
const FIND_OWNERS: Statement = Statement::each(
    include_str!("sql/find_owners.postgres.sql"),
    include_str!("sql/find_owners.sqlite.sql"),
);

/// Consents are immutable facts, written by each batch that meets them (a live batch of each
/// account-information projection, or once per rebuild batch): a second write changes nothing.
const INSERT_OWNERS: Statement = Statement::each(
    include_str!("sql/insert_owners.postgres.sql"),
    include_str!("sql/insert_owners.sqlite.sql"),
);

/// The default rules, compiled once for every batch of every tenant without rules of its own.
static DEFAULT_CATEGORISER: LazyLock<Result<Categoriser, RuleError>> =
    LazyLock::new(|| Categoriser::new(default_rules()));

/// Whose a consent is.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Owner {
    pub(crate) tenant_id: TenantId,
    pub(crate) user_id: UserId,
    pub(crate) bank: String,
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

/// A row of `consent_owners`.
#[derive(sqlx::FromRow)]
struct StoredOwner {
    consent_id: String,
    tenant_id: String,
    user_id: String,
    bank: String,
}

#[derive(Debug, Clone, Serialize)]
struct OwnerRow {
    consent_id: String,
    #[serde(flatten)]
    owner: Owner,
}

impl PlanContext {
    pub(crate) fn owner(&self, consent: &str) -> Result<&Owner, ProjectionError> {
        self.owners
            .get(consent)
            .ok_or_else(|| ProjectionError::UnknownConsent(consent.to_owned()))
    }

    pub(crate) fn categoriser(&self, tenant: TenantId) -> Result<&Categoriser, ProjectionError> {
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

    fn add_owners(&mut self, rows: Vec<StoredOwner>) -> Result<(), ProjectionError> {
        for row in rows {
            let bad = |e: consentry_domain::FieldError| ProjectionError::Undecodable {
                event: format!("consent_owners row {}", row.consent_id),
                reason: e.to_string(),
            };
            let owner = Owner {
                tenant_id: TenantId::parse(&row.tenant_id).map_err(bad)?,
                user_id: UserId::parse(&row.user_id).map_err(bad)?,
                bank: row.bank,
            };
            self.owners.insert(row.consent_id, owner);
        }
        Ok(())
    }

    /// Records the owners of the batch's ConsentRequested events in `consent_owners`. The runner writes it once
    /// per batch, whichever account-information projections the batch is for. On PostgreSQL the rows travel as
    /// typed arrays (`UNNEST`), on SQLite as a JSON array.
    pub(crate) fn owner_write(&self, backend: Backend) -> Result<Option<Write>, ProjectionError> {
        if backend == Backend::Sqlite || self.requested.is_empty() {
            return Write::json(INSERT_OWNERS, &self.requested);
        }
        let rows = &self.requested;
        let mut columns = Columns::default();
        columns.add(
            rows.iter()
                .map(|r| aggregate_uuid(feed::CONSENT, &r.consent_id))
                .collect::<Result<Vec<_>, _>>()?,
        )?;
        columns.add(rows.iter().map(|r| r.owner.tenant_id.as_uuid()).collect::<Vec<_>>())?;
        columns.add(rows.iter().map(|r| r.owner.user_id.as_uuid()).collect::<Vec<_>>())?;
        columns.add(rows.iter().map(|r| r.owner.bank.as_str()).collect::<Vec<_>>())?;
        Ok(Some(columns.into_write(INSERT_OWNERS)))
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
    /// Compiles each tenant's rules with the defaults. A tenant whose stored rules cannot be used (they do not
    /// compile together, or a row does not parse) falls back to the default rules alone, so one tenant's rules
    /// never stop the projections of every tenant; `rules::problem` tells the tenant why.
    fn add_rules(&mut self, tenants: &[TenantId], rows: Vec<StoredRule>) {
        let mut by_tenant: BTreeMap<String, Vec<Result<Rule, serde_json::Error>>> = BTreeMap::new();
        for row in rows {
            by_tenant
                .entry(row.tenant_id)
                .or_default()
                .push(serde_json::from_str(&row.rule));
        }
        for (tenant, rules) in by_tenant {
            let compiled = TenantId::parse(&tenant).map_err(|e| e.to_string()).and_then(|id| {
                let rules = rules
                    .into_iter()
                    .collect::<Result<Vec<Rule>, _>>()
                    .map_err(|e| e.to_string())?;
                let categoriser = Categoriser::for_tenant(rules).map_err(|e| e.to_string())?;
                Ok((id, categoriser))
            });
            match compiled {
                Ok((id, categoriser)) => {
                    self.categorisers.insert(id, categoriser);
                }
                Err(problem) => {
                    tracing::warn!(%tenant, %problem, "a tenant's categorisation rules cannot be used; the default rules apply");
                }
            }
        }
        self.loaded.extend(tenants.iter().copied());
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
    let missing = context.absorb(events)?;
    if !missing.is_empty() {
        let sql = conn.sql(&FIND_OWNERS);
        let missing = json_list(&missing)?;
        let rows = on_conn!(conn, c => sqlx::query_as(sql).bind(&missing).fetch_all(&mut **c).await)?;
        context.add_owners(rows)?;
    }
    let tenants = context.tenants_to_load(events);
    if rules && !tenants.is_empty() {
        let rows = rules::of_tenants(conn, &tenants).await?;
        context.add_rules(&tenants, rows);
    }
    Ok(())
}

/// The batch's AccountData events, decoded, with their consent and time.
pub(crate) fn account_data(
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

pub(crate) fn facts<'a>(transaction: &'a ObservedTransaction, description: &'a str) -> TransactionFacts<'a> {
    TransactionFacts {
        description,
        counterparty_iban: transaction.counterparty_iban.as_deref(),
        bank_transaction_code: transaction.bank_transaction_code.as_deref(),
        amount: transaction.amount.amount(),
    }
}

#[cfg(test)]
mod tests;
