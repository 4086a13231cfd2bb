//! Multi-bank aggregation: a user's accounts and balances from every valid consent, fetched from all banks at
//! once (the wall time is the slowest bank, not the sum), each bank under its own timeout, with the banks that
//! failed listed next to the data that arrived. Balances are summed in a base currency with exact decimals and
//! the rates that produced the total.

use std::sync::Arc;
use std::time::{Duration, Instant};

use consentry_domain::account_data::AccountDataCommand;
use consentry_domain::bank::{Balance, BalanceType, BankAccount, BankError, BankPort, EntryProblem, PsuContext};
use consentry_domain::rates::{RateError, RatesPort, Total};
use consentry_domain::{AccountCurrency, BankId, ConsentId, Currency, Iban, Money, TenantId, UserId};
use consentry_projections::read_models::consents::{self, ValidConsent};
use consentry_projections::Projection;
use futures::future::join_all;

use crate::{Engine, EngineError, RequestContext};

/// Which balance stands for an account: the first type present in this order.
#[derive(Debug, Clone)]
pub struct BalancePreference(pub Vec<BalanceType>);

impl Default for BalancePreference {
    fn default() -> Self {
        use BalanceType::*;
        Self(vec![
            InterimAvailable,
            ClosingBooked,
            Expected,
            InterimBooked,
            OpeningBooked,
            ForwardAvailable,
            NonInvoiced,
        ])
    }
}

impl BalancePreference {
    pub fn pick<'b>(&self, balances: &'b [Balance]) -> Option<&'b Balance> {
        self.0
            .iter()
            .find_map(|wanted| balances.iter().find(|b| b.balance_type == *wanted))
    }
}

/// One account with its preferred balance (and every balance the bank gave).
#[derive(Debug, Clone)]
pub struct AccountBalance {
    pub bank: BankId,
    pub consent: ConsentId,
    pub account: String,
    pub iban: Option<Iban>,
    pub currency: AccountCurrency,
    pub name: Option<String>,
    pub preferred: Option<Balance>,
    pub balances: Vec<Balance>,
}

/// A bank whose answer did not arrive, and why; or one entry of its answer that did not parse (`entry`), kept
/// out while the rest of the answer was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankFailure {
    pub bank: BankId,
    pub consent: ConsentId,
    pub reason: String,
    pub entry: Option<EntryProblem>,
}

impl BankFailure {
    pub fn of_bank(bank: BankId, consent: ConsentId, reason: String) -> Self {
        Self {
            bank,
            consent,
            reason,
            entry: None,
        }
    }

    pub fn of_entry(bank: BankId, consent: ConsentId, problem: EntryProblem) -> Self {
        Self {
            bank,
            consent,
            reason: problem.to_string(),
            entry: Some(problem),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AggregatedBalances {
    pub accounts: Vec<AccountBalance>,
    pub failures: Vec<BankFailure>,
    /// The sum of the preferred balances in the base currency, or why it could not be computed.
    pub total: Result<Total, String>,
}

/// What one bank answered: its accounts with all their balances, and the entries that did not parse.
pub struct BankAnswer {
    pub bank: BankId,
    pub consent: ConsentId,
    pub accounts: Vec<(BankAccount, Vec<Balance>)>,
    pub problems: Vec<EntryProblem>,
}

/// Accounts, then every account's balances at once: the two rounds of the critical path.
async fn fetch_bank(
    port: Arc<dyn BankPort>,
    bank_consent: String,
    psu: PsuContext,
) -> Result<(Vec<(BankAccount, Vec<Balance>)>, Vec<EntryProblem>), BankError> {
    let listing = port.accounts(&bank_consent, &psu).await?;
    let balances = join_all(
        listing
            .entries
            .iter()
            .map(|a| port.balances(&bank_consent, &a.resource_id, &psu)),
    )
    .await;
    let mut problems = listing.problems;
    let mut accounts = Vec::new();
    for (account, balances) in listing.entries.into_iter().zip(balances) {
        let balances = balances?;
        problems.extend(balances.problems);
        accounts.push((account, balances.entries));
    }
    Ok((accounts, problems))
}

/// A bank to ask: its port, the bank's consent id, and how long its two rounds of calls may take.
pub struct BankTarget {
    pub bank: BankId,
    pub consent: ConsentId,
    pub bank_consent: String,
    pub port: Arc<dyn BankPort>,
    pub budget: Duration,
}

/// Fetches every bank concurrently, each within its budget.
pub async fn fetch_all(targets: Vec<BankTarget>, psu: &PsuContext) -> (Vec<BankAnswer>, Vec<BankFailure>) {
    let calls = targets.into_iter().map(|target| {
        let psu = psu.clone();
        async move {
            let fetched = tokio::time::timeout(target.budget, fetch_bank(target.port, target.bank_consent, psu)).await;
            match fetched {
                Ok(Ok((accounts, problems))) => Ok(BankAnswer {
                    bank: target.bank,
                    consent: target.consent,
                    accounts,
                    problems,
                }),
                Ok(Err(error)) => Err(BankFailure::of_bank(target.bank, target.consent, error.to_string())),
                Err(_) => Err(BankFailure::of_bank(
                    target.bank,
                    target.consent,
                    format!("no answer within {} ms", target.budget.as_millis()),
                )),
            }
        }
    });
    let mut answers = Vec::new();
    let mut failures = Vec::new();
    for outcome in join_all(calls).await {
        match outcome {
            Ok(answer) => answers.push(answer),
            Err(failure) => failures.push(failure),
        }
    }
    (answers, failures)
}

/// The same banks, one after another: what a naive aggregator does (the benchmark's baseline).
pub async fn fetch_one_by_one(targets: Vec<BankTarget>, psu: &PsuContext) -> usize {
    let mut accounts = 0;
    for target in targets {
        if let Ok(found) = target.port.accounts(&target.bank_consent, psu).await {
            for account in &found.entries {
                if target
                    .port
                    .balances(&target.bank_consent, &account.resource_id, psu)
                    .await
                    .is_ok()
                {
                    accounts += 1;
                }
            }
        }
    }
    accounts
}

impl Engine {
    /// The user's valid consents, from the consents read model, caught up with the log first: what to call is
    /// decided on it, so a consent authorised a moment ago (its callback just returned) must be in it.
    pub async fn valid_consents(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(ConsentId, BankId)>, EngineError> {
        self.projection_runner()
            .with_projections(vec![Projection::CONSENTS])
            .catch_up()
            .await?;
        let valid = consents::valid_of_user(self.database(), tenant, user).await?;
        Ok(valid
            .into_iter()
            .map(|ValidConsent { consent, bank }| (consent, bank))
            .collect())
    }

    /// The banks to ask for the user's data: one per valid consent, with a budget of one call's timeout plus the
    /// sync allowance of its two rounds.
    pub async fn bank_targets(&self, tenant: TenantId, user: UserId) -> Result<Vec<BankTarget>, EngineError> {
        let mut targets = Vec::new();
        for (consent, bank) in self.valid_consents(tenant, user).await? {
            let state = self.consent(consent).await?.state;
            let Some(bank_consent) = state.and_then(|s| s.stage.bank_consent().map(|b| b.id.clone())) else {
                continue;
            };
            let connected = self.bank(&bank)?;
            targets.push(BankTarget {
                bank,
                consent,
                bank_consent,
                port: connected.port.clone(),
                budget: connected.timeout + connected.sync_allowance.saturating_mul(2),
            });
        }
        Ok(targets)
    }

    /// Accounts and balances of every bank the user connected, fetched at once; failures listed per bank; the
    /// preferred balances summed in `base`. Unattended calls are counted against each consent's budget first
    /// (a bank over budget is reported as failed, not called); what arrived is recorded on AccountData.
    pub async fn aggregate_balances(
        &self,
        ctx: &RequestContext,
        user: UserId,
        psu: &PsuContext,
        base: Currency,
        preference: &BalancePreference,
        rates: &dyn RatesPort,
    ) -> Result<AggregatedBalances, EngineError> {
        let mut failures = Vec::new();
        let mut targets = Vec::new();
        for target in self.bank_targets(ctx.tenant, user).await? {
            if psu.ip_address().is_none() {
                let known = self.account_data(target.consent).await?;
                let mut resources = vec!["accounts".to_owned()];
                resources.extend(
                    known
                        .accounts
                        .iter()
                        .map(|a| format!("accounts/{}/balances", a.resource_id)),
                );
                let count = consentry_domain::consent::ConsentCommand::CountUnattendedAccess { resources };
                if let Err(refused) = self.execute_consent(ctx, target.consent, count).await {
                    failures.push(BankFailure::of_bank(target.bank, target.consent, refused.to_string()));
                    continue;
                }
            }
            targets.push(target);
        }
        let started = Instant::now();
        let (answers, fetch_failures) = fetch_all(targets, psu).await;
        tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "banks answered");
        failures.extend(fetch_failures);

        let mut accounts = Vec::new();
        for answer in answers {
            failures.extend(
                answer
                    .problems
                    .iter()
                    .map(|problem| BankFailure::of_entry(answer.bank.clone(), answer.consent, problem.clone())),
            );
            let observed: Vec<BankAccount> = answer.accounts.iter().map(|(a, _)| a.clone()).collect();
            let record = AccountDataCommand::RecordAccounts {
                consent: answer.consent,
                accounts: observed,
            };
            self.execute_account_data(ctx, answer.consent, record).await?;
            for (account, balances) in answer.accounts {
                let record = AccountDataCommand::RecordBalances {
                    account: account.resource_id.clone(),
                    balances: balances.clone(),
                };
                self.execute_account_data(ctx, answer.consent, record).await?;
                accounts.push(AccountBalance {
                    bank: answer.bank.clone(),
                    consent: answer.consent,
                    preferred: preference.pick(&balances).cloned(),
                    account: account.resource_id,
                    iban: account.iban,
                    currency: account.currency,
                    name: account.name,
                    balances,
                });
            }
        }
        let total = match rates.current().await {
            Ok(table) => {
                let amounts: Vec<Money> = accounts
                    .iter()
                    .filter_map(|a| a.preferred.as_ref().map(|b| b.amount))
                    .collect();
                table.total(&amounts, base).map_err(|e: RateError| e.to_string())
            }
            Err(unavailable) => Err(unavailable.to_string()),
        };
        Ok(AggregatedBalances {
            accounts,
            failures,
            total,
        })
    }
}
