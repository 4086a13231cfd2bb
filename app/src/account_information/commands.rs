//! The AccountData aggregate's side of the Engine: what the bank told Consentry through a consent, recorded
//! free of duplicates.

use consentry_domain::account_data::{AccountData, AccountDataCommand, AccountDataEvent};
use consentry_domain::ConsentId;

use crate::engine::{fold, history};
use crate::{Engine, EngineError, RequestContext};

impl Engine {
    pub(crate) async fn execute_account_data(
        &self,
        ctx: &RequestContext,
        id: ConsentId,
        command: AccountDataCommand,
    ) -> Result<(), EngineError> {
        self.execute(self.account_data.as_ref(), ctx, &id.to_string(), command, |source| {
            EngineError::AccountData { id, source }
        })
        .await
    }

    /// How many pending transactions of the consent's accounts were matched to their booking so far.
    pub async fn pending_bookings(&self, id: ConsentId) -> Result<usize, EngineError> {
        let events = self
            .account_data
            .events(&id.to_string())
            .await
            .map_err(|e| EngineError::Store(e.to_string()))?;
        Ok(events
            .iter()
            .map(|e| match &e.payload {
                AccountDataEvent::TransactionsObserved { booked_pending, .. } => booked_pending.len(),
                _ => 0,
            })
            .sum())
    }

    /// What the bank told Consentry through this consent (empty before the first sync).
    pub async fn account_data(&self, id: ConsentId) -> Result<AccountData, EngineError> {
        match history(self.account_data.as_ref(), &id.to_string()).await {
            Ok(events) => Ok(fold::<AccountData>(events.into_iter().map(|e| e.event))),
            Err(EngineError::NotFound { .. }) => Ok(AccountData::default()),
            Err(other) => Err(other),
        }
    }
}
