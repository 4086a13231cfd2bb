//! The Consent aggregate's side of the Engine: requesting a consent, executing a command on one, reading its
//! state and history; and the user's consents as the `consents` read model shows them.

use chrono::NaiveDate;
use consentry_domain::consent::{Consent, ConsentAccess, ConsentCommand, ConsentEvent, ConsentRequest};
use consentry_domain::{BankId, ConsentId, FieldError, TenantId, UserId};
use consentry_projections::read_models::consents::{self, ConsentView};
use serde::Deserialize;

use crate::engine::{fold, history};
use crate::{Engine, EngineError, RecordedEvent, RequestContext};

/// A consent request as it arrives from outside; [`Engine::request_consent`] parses it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentInput {
    pub bank: String,
    pub access: ConsentAccess,
    pub recurring_indicator: bool,
    pub valid_until: NaiveDate,
    pub frequency_per_day: u8,
    #[serde(default)]
    pub renewal_of: Option<ConsentId>,
}

impl Engine {
    /// Requests a consent for the context's user; the bank is asked by the caller, which then records the
    /// bank's answer with [`ConsentCommand::RecordBankConsent`].
    pub async fn request_consent(&self, ctx: &RequestContext, input: ConsentInput) -> Result<ConsentId, EngineError> {
        let user = ctx
            .user
            .ok_or_else(|| FieldError::new("userId", "is required to request a consent"))?;
        let request = ConsentRequest {
            tenant: ctx.tenant,
            user,
            bank: BankId::parse(&input.bank)?,
            access: input.access,
            recurring_indicator: input.recurring_indicator,
            valid_until: input.valid_until,
            frequency_per_day: input.frequency_per_day,
            renewal_of: input.renewal_of,
        };
        let id = ConsentId::new();
        self.create(
            self.consents.as_ref(),
            ctx,
            &id.to_string(),
            ConsentCommand::Request(request),
            |source| EngineError::Consent { id, source },
        )
        .await?;
        Ok(id)
    }

    pub async fn execute_consent(
        &self,
        ctx: &RequestContext,
        id: ConsentId,
        command: ConsentCommand,
    ) -> Result<(), EngineError> {
        self.execute(self.consents.as_ref(), ctx, &id.to_string(), command, |source| {
            EngineError::Consent { id, source }
        })
        .await
    }

    pub async fn consent(&self, id: ConsentId) -> Result<Consent, EngineError> {
        let history = self.consent_history(id).await?;
        Ok(fold::<Consent>(history.into_iter().map(|e| e.event)))
    }

    pub async fn consent_history(&self, id: ConsentId) -> Result<Vec<RecordedEvent<ConsentEvent>>, EngineError> {
        history(self.consents.as_ref(), &id.to_string()).await
    }

    /// The user's consents at every bank, whatever their status, with the days each has left today.
    pub async fn consents(&self, tenant: TenantId, user: UserId) -> Result<Vec<ConsentView>, EngineError> {
        let today = self.now().date_naive();
        Ok(consents::of_user(self.database(), tenant, user, today).await?)
    }
}
