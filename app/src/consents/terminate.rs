//! A consent as its owner sees it, and ending one on the tenant's behalf: the bank is told first
//! (`DELETE /v1/consents/{id}` through the bank port), then the consent becomes `terminatedByTpp`, so the log
//! never says terminated while the bank still honours the consent.

use consentry_domain::consent::{ConsentCommand, ConsentError, ConsentState, ConsentStatus, RevokedBy};
use consentry_domain::{ConsentId, TenantId, UserId};

use crate::{Engine, EngineError, RequestContext};

impl Engine {
    /// The consent `id` of `user` at `tenant`; not found when it belongs to anyone else, so one tenant cannot
    /// learn that another's consent exists.
    pub async fn consent_of_user(
        &self,
        tenant: TenantId,
        user: UserId,
        id: ConsentId,
    ) -> Result<ConsentState, EngineError> {
        let not_found = || EngineError::NotFound {
            aggregate: "Consent",
            id: id.to_string(),
        };
        let state = match self.consent(id).await {
            Ok(consent) => consent.state.ok_or_else(not_found)?,
            Err(EngineError::NotFound { .. }) => return Err(not_found()),
            Err(other) => return Err(other),
        };
        if state.request.tenant != tenant || state.request.user != user {
            return Err(not_found());
        }
        Ok(state)
    }

    /// Terminates the context's user's consent `id`: at the bank when the bank holds it, then on the
    /// aggregate. A final consent is refused as it is.
    pub async fn terminate_consent(&self, ctx: &RequestContext, id: ConsentId) -> Result<ConsentStatus, EngineError> {
        let user = ctx.user.ok_or(EngineError::NotFound {
            aggregate: "Consent",
            id: id.to_string(),
        })?;
        let state = self.consent_of_user(ctx.tenant, user, id).await?;
        let status = state.status();
        if status.is_final() {
            return Err(EngineError::Consent {
                id,
                source: ConsentError::Final(status),
            });
        }
        if let Some(bank_consent) = state.stage.bank_consent() {
            let bank = state.request.bank.clone();
            let port = self.bank(&bank)?.port.clone();
            if let Err(source) = port.delete_consent(&bank_consent.id).await {
                return Err(EngineError::Bank { bank, source });
            }
        }
        self.execute_consent(ctx, id, ConsentCommand::Revoke { by: RevokedBy::Tpp })
            .await?;
        Ok(ConsentStatus::TerminatedByTpp)
    }
}
