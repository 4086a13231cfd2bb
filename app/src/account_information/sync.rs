//! Synchronising a consent's accounts, balances and transactions from its bank. Every unattended call is first
//! counted against the consent's frequencyPerDay by the Consent aggregate, so a retry storm can never burn the
//! bank's budget: over budget, the call is not made. A user-present refresh sends PSU-IP-Address and is not
//! counted. What the bank answered is recorded on the AccountData aggregate, which keeps it free of duplicates.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_domain::account_data::AccountDataCommand;
use consentry_domain::bank::{BankError, BookingStatus, EntryProblem, PsuContext, TransactionQuery};
use consentry_domain::consent::{BankConsentUse, ConsentCommand, ConsentError, ExpiryCause};
use consentry_domain::{BankId, ConsentId};

use crate::account_information::aggregation::BankFailure;
use crate::banks::ConnectedBank;
use crate::{Engine, EngineError, RequestContext};

/// How far back a sync starts when it has never seen a booked transaction of the account.
pub const FIRST_SYNC_DAYS: i64 = 90;
/// Re-read this many days before the last booked date, so late bookings and corrections are seen.
pub const OVERLAP_DAYS: i64 = 7;

/// What one sync of one consent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub consent: ConsentId,
    pub bank: BankId,
    pub accounts: usize,
    /// Booked transactions Consentry had not seen before this sync.
    pub new_booked: usize,
    /// Pending transactions still waiting for their booking after it.
    pub pending: usize,
    /// The entries of the bank's answers that did not parse: kept out, while everything else was recorded.
    pub problems: Vec<EntryProblem>,
}

/// A sync's time budget: one call's timeout as grace, plus an allowance for every call it makes (the accounts,
/// then per account its balances and every page of its transactions), so it grows with what the sync covers.
/// Each call has its own timeout too; the budget keeps a bank that answers every call just under it from
/// holding a sync for calls × timeout.
struct SyncBudget {
    started: tokio::time::Instant,
    grace: std::time::Duration,
    allowance: std::time::Duration,
    calls: u32,
}

impl SyncBudget {
    fn new(bank: &ConnectedBank) -> Self {
        Self {
            started: tokio::time::Instant::now(),
            grace: bank.timeout,
            allowance: bank.sync_allowance,
            calls: 0,
        }
    }

    /// Counts `calls` more calls made, and fails when the time spent so far is over the budget they give.
    fn made(&mut self, calls: usize) -> Result<(), BankError> {
        self.calls = self.calls.saturating_add(u32::try_from(calls).unwrap_or(u32::MAX));
        let budget = self.grace + self.allowance.saturating_mul(self.calls);
        let spent = self.started.elapsed();
        if spent > budget {
            return Err(BankError::OverBudget(format!(
                "the sync took {} ms for {} calls; its budget was {} ms",
                spent.as_millis(),
                self.calls,
                budget.as_millis()
            )));
        }
        Ok(())
    }
}

/// A consent's budget of accesses without the user present, today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnattendedBudget {
    /// frequencyPerDay.
    pub per_day: u8,
    /// The most accesses counted today to one resource.
    pub used_today: u8,
    /// Full syncs that still fit today.
    pub left_today: u8,
}

/// The resources Berlin Group banks count accesses on.
fn accounts_resource() -> String {
    "accounts".to_owned()
}

/// The balances and transactions resources of an account.
fn account_resources(account: &str) -> [String; 2] {
    [
        format!("accounts/{account}/balances"),
        format!("accounts/{account}/transactions"),
    ]
}

impl Engine {
    /// Counts one unattended access to each of `resources` before the calls (all or none); a user-present sync
    /// is not counted.
    async fn count_accesses(
        &self,
        ctx: &RequestContext,
        consent: ConsentId,
        psu: &PsuContext,
        resources: Vec<String>,
    ) -> Result<(), EngineError> {
        if psu.ip_address().is_some() || resources.is_empty() {
            return Ok(());
        }
        let counted = self
            .execute_consent(ctx, consent, ConsentCommand::CountUnattendedAccess { resources })
            .await;
        if let Err(EngineError::Consent {
            source: ConsentError::AccessBudgetExhausted { .. },
            ..
        }) = &counted
        {
            // The call the budget refused was never made: the bank's 4-a-day limit stays unburnt.
            metrics::counter!("consentry_unattended_budget_refused_total").increment(1);
        }
        counted
    }

    /// A bank error on a consent's data: CONSENT_EXPIRED expires the consent (the bank knows best); a 429 with
    /// `Retry-After` is recorded on the consent, so no unattended access is made before the bank allows it.
    async fn bank_failed(
        &self,
        ctx: &RequestContext,
        consent: ConsentId,
        bank: &BankId,
        source: BankError,
    ) -> EngineError {
        if matches!(source, BankError::ConsentExpired(_)) {
            let expire = ConsentCommand::Expire {
                cause: ExpiryCause::BankReportedExpired,
            };
            if let Err(error) = self.execute_consent(ctx, consent, expire).await {
                tracing::warn!(%consent, %error, "could not record the bank's CONSENT_EXPIRED");
            }
        }
        if let BankError::AccessExceeded {
            retry_after: Some(retry_after),
            ..
        } = &source
        {
            let wait = ConsentCommand::WaitForBank {
                until: retry_after.not_before(self.now()),
            };
            if let Err(error) = self.execute_consent(ctx, consent, wait).await {
                tracing::warn!(%consent, %error, "could not record the bank's Retry-After");
            }
        }
        EngineError::Bank {
            bank: bank.clone(),
            source,
        }
    }

    /// Fetches accounts, balances and transactions of a valid consent and records what the bank said.
    /// Transactions are read incrementally: from the account's last booked date less `OVERLAP_DAYS` (or
    /// `FIRST_SYNC_DAYS` back the first time) to today.
    pub async fn sync_consent(
        &self,
        ctx: &RequestContext,
        consent: ConsentId,
        psu: &PsuContext,
    ) -> Result<SyncReport, EngineError> {
        let state = self.consent(consent).await?.state.ok_or(EngineError::NotFound {
            aggregate: "Consent",
            id: consent.to_string(),
        })?;
        let bank_consent = match state.bank_consent_for(BankConsentUse::ReadAccountData) {
            Ok(bank_consent) => bank_consent.id.clone(),
            Err(source) => return Err(EngineError::Consent { id: consent, source }),
        };
        let bank = state.request.bank.clone();
        let connected = self.bank(&bank)?;
        let port = connected.port.clone();
        let mut budget = SyncBudget::new(connected);
        let before = self.account_data(consent).await?;

        // The whole sync is counted before the first call, for the accounts known from the last sync; accounts
        // the bank lists for the first time are counted when they appear.
        let known: Vec<String> = before.accounts.iter().map(|a| a.resource_id.clone()).collect();
        let mut resources = vec![accounts_resource()];
        resources.extend(known.iter().flat_map(|a| account_resources(a)));
        self.count_accesses(ctx, consent, psu, resources).await?;
        let listing = match port.accounts(&bank_consent, psu).await {
            Ok(listing) => listing,
            Err(source) => return Err(self.bank_failed(ctx, consent, &bank, source).await),
        };
        let within = |budget: &mut SyncBudget, calls: usize| {
            budget.made(calls).map_err(|source| EngineError::Bank {
                bank: bank.clone(),
                source,
            })
        };
        within(&mut budget, 1)?;
        let accounts = listing.entries;
        let mut problems = listing.problems;
        let ids: Vec<String> = accounts.iter().map(|a| a.resource_id.clone()).collect();
        let appeared = ids
            .iter()
            .filter(|id| !known.contains(id))
            .flat_map(|a| account_resources(a))
            .collect();
        self.count_accesses(ctx, consent, psu, appeared).await?;
        self.execute_account_data(ctx, consent, AccountDataCommand::RecordAccounts { consent, accounts })
            .await?;

        let today = self.now().date_naive();
        for account in &ids {
            let balances = match port.balances(&bank_consent, account, psu).await {
                Ok(balances) => balances,
                Err(source) => return Err(self.bank_failed(ctx, consent, &bank, source).await),
            };
            within(&mut budget, 1)?;
            problems.extend(balances.problems);
            let command = AccountDataCommand::RecordBalances {
                account: account.clone(),
                balances: balances.entries,
            };
            self.execute_account_data(ctx, consent, command).await?;

            let date_from = match before.ledger(account).and_then(|l| l.last_booked) {
                Some(last) => last - Duration::days(OVERLAP_DAYS),
                None => today - Duration::days(FIRST_SYNC_DAYS),
            };
            let query = TransactionQuery {
                booking_status: BookingStatus::Both,
                date_from,
                date_to: Some(today),
            };
            let report = match port.transactions(&bank_consent, account, &query, psu).await {
                Ok(report) => report,
                Err(source) => return Err(self.bank_failed(ctx, consent, &bank, source).await),
            };
            within(&mut budget, report.pages)?;
            problems.extend(report.problems);
            let command = AccountDataCommand::RecordTransactions {
                account: account.clone(),
                date_from,
                date_to: today,
                includes_pending: true,
                booked: report.booked,
                pending: report.pending,
            };
            self.execute_account_data(ctx, consent, command).await?;
        }
        let after = self.account_data(consent).await?;
        let booked = |data: &consentry_domain::account_data::AccountData| {
            data.ledgers.values().map(|l| l.booked.len()).sum::<usize>()
        };
        let pending = after.ledgers.values().map(|l| l.pending.len()).sum();
        Ok(SyncReport {
            consent,
            bank,
            accounts: ids.len(),
            new_booked: booked(&after) - booked(&before),
            pending,
            problems,
        })
    }

    /// The consent's unattended budget today (the engine's calendar day, UTC): its frequencyPerDay, and the
    /// accesses already counted to the resource that has used most (a sync needs every resource).
    pub async fn unattended_budget(&self, consent: ConsentId) -> Result<UnattendedBudget, EngineError> {
        let aggregate = self.consent(consent).await?;
        let state = aggregate.state.as_ref().ok_or(EngineError::NotFound {
            aggregate: "Consent",
            id: consent.to_string(),
        })?;
        let today = self.now().date_naive();
        let data = self.account_data(consent).await?;
        let mut resources = vec![accounts_resource()];
        resources.extend(data.accounts.iter().flat_map(|a| account_resources(&a.resource_id)));
        let per_day = state.request.frequency_per_day;
        let used_today = resources
            .iter()
            .map(|r| aggregate.accesses_on(today, r))
            .max()
            .unwrap_or(0);
        Ok(UnattendedBudget {
            per_day,
            used_today,
            left_today: per_day.saturating_sub(used_today),
        })
    }

    /// When the next unattended sync of `consent` can run without exceeding frequencyPerDay or calling a bank
    /// before its `Retry-After`: now (or when the bank allows), if a full sync still fits in that day's budget,
    /// else the start of the next day (UTC), or later when the bank asked to wait longer.
    pub async fn next_unattended_sync(&self, consent: ConsentId) -> Result<DateTime<Utc>, EngineError> {
        let aggregate = self.consent(consent).await?;
        let state = aggregate.state.as_ref().ok_or(EngineError::NotFound {
            aggregate: "Consent",
            id: consent.to_string(),
        })?;
        let now = self.now();
        let today = now.date_naive();
        let data = self.account_data(consent).await?;
        let limit = state.request.frequency_per_day;
        let mut resources = vec![accounts_resource()];
        resources.extend(data.accounts.iter().flat_map(|a| account_resources(&a.resource_id)));
        let waited = state.wait_until.map_or(now, |until| until.max(now));
        if waited.date_naive() == today && resources.iter().all(|r| aggregate.accesses_on(today, r) < limit) {
            return Ok(waited);
        }
        let tomorrow: NaiveDate = today + Duration::days(1);
        let midnight = tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        Ok(waited.max(midnight))
    }
}

/// What refreshing all of a user's banks did: one report per bank that answered, one failure per bank that
/// did not (a bank over its unattended budget is a failure too, and was not called).
#[derive(Debug, Clone)]
pub struct RefreshOutcome {
    pub synced: Vec<SyncReport>,
    pub failures: Vec<BankFailure>,
}

impl Engine {
    /// Syncs every valid consent of `user` at once, each within its sync budget: the wall time is the slowest
    /// bank's, and a failing bank does not hold up the others. The entries a bank sent that did not parse are
    /// listed as failures of that bank, next to what it synced.
    pub async fn refresh_user(
        &self,
        ctx: &RequestContext,
        user: consentry_domain::UserId,
        psu: &PsuContext,
    ) -> Result<RefreshOutcome, EngineError> {
        let consents = self.valid_consents(ctx.tenant, user).await?;
        let syncs = consents.into_iter().map(|(consent, bank)| async move {
            self.sync_consent(ctx, consent, psu)
                .await
                .map_err(|error| BankFailure::of_bank(bank, consent, error.to_string()))
        });
        let mut outcome = RefreshOutcome {
            synced: Vec::new(),
            failures: Vec::new(),
        };
        for result in futures::future::join_all(syncs).await {
            match result {
                Ok(report) => {
                    outcome.failures.extend(
                        report
                            .problems
                            .iter()
                            .map(|problem| BankFailure::of_entry(report.bank.clone(), report.consent, problem.clone())),
                    );
                    outcome.synced.push(report);
                }
                Err(failure) => outcome.failures.push(failure),
            }
        }
        Ok(outcome)
    }
}

impl Engine {
    /// A consent's scheduled unattended sync: due again at its next slot of the day (frequencyPerDay slots,
    /// spread by the consent's id), or when the bank's `Retry-After` ends; a consent no longer valid has
    /// nothing left to do. A failed sync waits for its next slot rather than spend the day's budget on retries.
    pub(crate) async fn sync_due_consent(
        &self,
        work: &consentry_projections::read_models::due_work::Claimed,
    ) -> Result<crate::scheduler::WorkOutcome, EngineError> {
        use crate::scheduler::WorkOutcome;
        let id = ConsentId::parse(&work.aggregate_id)?;
        let Some(state) = self.consent(id).await?.state else {
            return Ok(WorkOutcome::Done);
        };
        if state.bank_consent_for(BankConsentUse::ReadAccountData).is_err() {
            return Ok(WorkOutcome::Done);
        }
        let ctx = RequestContext::job(state.request.tenant, Some(state.request.user));
        let per_day = state.request.frequency_per_day;
        let outcome = self.sync_consent(&ctx, id, &PsuContext::absent()).await;
        let next = consentry_domain::schedule::next_scheduled_sync(id.as_uuid(), per_day, self.now());
        match outcome {
            Ok(report) => {
                tracing::debug!(consent = %id, accounts = report.accounts, new_booked = report.new_booked, "scheduled sync");
                Ok(WorkOutcome::Next(next))
            }
            Err(EngineError::Consent {
                source: ConsentError::BankAskedToWait { until },
                ..
            }) => Ok(WorkOutcome::Next(until.max(next))),
            Err(EngineError::Consent {
                source: ConsentError::NotValid { .. } | ConsentError::ValidUntilPassed { .. } | ConsentError::Final(_),
                ..
            }) => Ok(WorkOutcome::Done),
            Err(error @ (EngineError::Consent { .. } | EngineError::Bank { .. } | EngineError::Conflict { .. })) => {
                tracing::info!(consent = %id, %error, "scheduled sync failed; next at its next slot");
                Ok(WorkOutcome::Next(next))
            }
            Err(other) => Err(other),
        }
    }
}
