//! What the account-information read models show a user (accounts, balances, transactions, spending), and the
//! tenant's categorisation rules. The queries live with their read models
//! (`consentry_projections::read_models::<name>`), every one scoped to one tenant and user; the Engine adds
//! errors as [`EngineError`].

use chrono::NaiveDate;
use consentry_domain::bank::BalanceType;
use consentry_domain::{TenantId, UserId};
use consentry_projections::categorise::Rule;
use consentry_projections::read_models::accounts::{AccountView, BalanceView, BALANCE_PREFERENCE};
use consentry_projections::read_models::rules::TenantRule;
use consentry_projections::read_models::spending::SpendingLine;
use consentry_projections::read_models::transactions::{TransactionCursor, TransactionPage, TransactionView};
use consentry_projections::read_models::{accounts, rules, spending, transactions};
use uuid::Uuid;

use crate::{Engine, EngineError};

impl Engine {
    /// The user's accounts at every bank.
    pub async fn accounts(&self, tenant: TenantId, user: UserId) -> Result<Vec<AccountView>, EngineError> {
        Ok(accounts::of_user(self.database(), tenant, user).await?)
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
        preference: &[BalanceType],
    ) -> Result<Vec<BalanceView>, EngineError> {
        Ok(accounts::balances_of_user(self.database(), tenant, user, preference).await?)
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
        Ok(transactions::page(self.database(), tenant, user, (from, to), limit, after).await?)
    }

    /// The user's spending and income in `month` (`YYYY-MM`) per category and currency.
    pub async fn spending(
        &self,
        tenant: TenantId,
        user: UserId,
        month: &str,
    ) -> Result<Vec<SpendingLine>, EngineError> {
        Ok(spending::of_month(self.database(), tenant, user, month).await?)
    }

    /// Adds a categorisation rule of `tenant`. It applies to transactions projected from now on; replay the
    /// `transactions` and `spending` projections to re-categorise history. An invalid rule is refused with
    /// the field at fault (`rule.keyword`, `rule.pattern`, ...).
    pub async fn add_categorisation_rule(&self, tenant: TenantId, rule: Rule) -> Result<Uuid, EngineError> {
        Ok(rules::add(self.database(), tenant, &rule, self.now()).await?)
    }

    /// The tenant's own rules, highest priority first (the default rules are not listed).
    pub async fn categorisation_rules(&self, tenant: TenantId) -> Result<Vec<TenantRule>, EngineError> {
        Ok(rules::list(self.database(), tenant).await?)
    }

    /// Why the tenant's stored rules cannot be used, in which case its transactions are categorised by the
    /// default rules alone; `None` when they compile.
    pub async fn categorisation_rules_problem(&self, tenant: TenantId) -> Result<Option<String>, EngineError> {
        Ok(rules::problem(self.database(), tenant).await?)
    }

    /// Deletes one of the tenant's rules; false when the tenant has no rule of that id.
    pub async fn delete_categorisation_rule(&self, tenant: TenantId, id: Uuid) -> Result<bool, EngineError> {
        Ok(rules::delete(self.database(), tenant, id).await?)
    }
}
