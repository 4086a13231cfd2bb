//! Synchronising a consent's accounts, balances and transactions from its bank. Every unattended call is first
//! counted against the consent's frequencyPerDay by the Consent aggregate, so a retry storm can never burn the
//! bank's budget: over budget, the call is not made. A user-present refresh sends PSU-IP-Address and is not
//! counted. What the bank answered is recorded on the AccountData aggregate, which keeps it free of duplicates.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry_domain::account_data::AccountDataCommand;
use consentry_domain::bank::{BankError, BookingStatus, PsuContext, TransactionQuery};
use consentry_domain::consent::{BankConsentUse, ConsentCommand, ConsentError, ExpiryCause};
use consentry_domain::{BankId, ConsentId};

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

    /// A bank error on a consent's data: CONSENT_EXPIRED expires the consent (the bank knows best).
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
        let port = self.bank(&bank)?.port.clone();
        let before = self.account_data(consent).await?;

        // The whole sync is counted before the first call, for the accounts known from the last sync; accounts
        // the bank lists for the first time are counted when they appear.
        let known: Vec<String> = before.accounts.iter().map(|a| a.resource_id.clone()).collect();
        let mut resources = vec![accounts_resource()];
        resources.extend(known.iter().flat_map(|a| account_resources(a)));
        self.count_accesses(ctx, consent, psu, resources).await?;
        let accounts = match port.accounts(&bank_consent, psu).await {
            Ok(accounts) => accounts,
            Err(source) => return Err(self.bank_failed(ctx, consent, &bank, source).await),
        };
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
            let command = AccountDataCommand::RecordBalances {
                account: account.clone(),
                balances,
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

    /// When the next unattended sync of `consent` can run without exceeding frequencyPerDay: now, if a full sync
    /// still fits in today's budget, else the start of the next day (UTC).
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
        if resources.iter().all(|r| aggregate.accesses_on(today, r) < limit) {
            return Ok(now);
        }
        let tomorrow: NaiveDate = today + Duration::days(1);
        Ok(tomorrow.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    }
}

/// What refreshing all of a user's banks did: one report per bank that answered, one failure per bank that
/// did not (a bank over its unattended budget is a failure too, and was not called).
#[derive(Debug, Clone)]
pub struct RefreshOutcome {
    pub synced: Vec<SyncReport>,
    pub failures: Vec<crate::account_information::aggregation::BankFailure>,
}

impl Engine {
    /// Syncs every valid consent of `user` at once, each under its bank's timeout: the wall time is the slowest
    /// bank's, and a failing bank does not hold up the others.
    pub async fn refresh_user(
        &self,
        ctx: &RequestContext,
        user: consentry_domain::UserId,
        psu: &PsuContext,
    ) -> Result<RefreshOutcome, EngineError> {
        let consents = self.valid_consents(ctx.tenant, user).await?;
        let syncs = consents.into_iter().map(|(consent, bank)| async move {
            let timeout = self
                .bank(&bank)
                .map(|b| b.timeout)
                .unwrap_or(std::time::Duration::from_secs(10));
            let outcome = tokio::time::timeout(timeout, self.sync_consent(ctx, consent, psu)).await;
            match outcome {
                Ok(Ok(report)) => Ok(report),
                Ok(Err(error)) => Err(crate::account_information::aggregation::BankFailure {
                    bank,
                    consent,
                    reason: error.to_string(),
                }),
                Err(_) => Err(crate::account_information::aggregation::BankFailure {
                    bank,
                    consent,
                    reason: format!("no answer within {} ms", timeout.as_millis()),
                }),
            }
        });
        let mut outcome = RefreshOutcome {
            synced: Vec::new(),
            failures: Vec::new(),
        };
        for result in futures::future::join_all(syncs).await {
            match result {
                Ok(report) => outcome.synced.push(report),
                Err(failure) => outcome.failures.push(failure),
            }
        }
        Ok(outcome)
    }
}
