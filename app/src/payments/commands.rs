//! The Payment aggregate's side of the Engine: recording the intent to pay, executing a command on a payment,
//! reading its state and history; and the user's payments as the `payments` read model shows them.

use consentry_domain::payment::{
    Payment, PaymentCommand, PaymentEvent, PaymentProduct, PaymentRequest, PaymentService,
};
use consentry_domain::{BankId, FieldError, Iban, Money, PaymentId, TenantId, UserId};
use consentry_projections::read_models::payments::{self, PaymentView};
use serde::Deserialize;
use uuid::Uuid;

use crate::engine::{fold, history};
use crate::{Engine, EngineError, RecordedEvent, RequestContext};

/// A payment order as it arrives from outside; [`Engine::request_payment`] parses it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentInput {
    pub bank: String,
    pub service: PaymentService,
    pub product: PaymentProduct,
    pub debtor_iban: String,
    pub creditor_iban: String,
    pub creditor_name: String,
    pub amount: String,
    pub currency: String,
    #[serde(default)]
    pub remittance_information: Option<String>,
}

impl Engine {
    /// Records the intent to pay, with its idempotency key fixed here; nothing is sent to the bank yet.
    pub async fn request_payment(&self, ctx: &RequestContext, input: PaymentInput) -> Result<PaymentId, EngineError> {
        let user = ctx
            .user
            .ok_or_else(|| FieldError::new("userId", "is required to request a payment"))?;
        let request = PaymentRequest {
            tenant: ctx.tenant,
            user,
            bank: BankId::parse(&input.bank)?,
            service: input.service,
            product: input.product,
            debtor: Iban::parse_field("debtorAccount.iban", &input.debtor_iban)?,
            creditor: Iban::parse_field("creditorAccount.iban", &input.creditor_iban)?,
            creditor_name: input.creditor_name,
            instructed_amount: Money::parse("instructedAmount", &input.amount, &input.currency)?,
            remittance_information: input.remittance_information,
            idempotency_key: Uuid::new_v4(),
        };
        let id = PaymentId::new();
        self.create(
            self.payments.as_ref(),
            ctx,
            &id.to_string(),
            PaymentCommand::RequestInitiation(request),
            |source| EngineError::Payment { id, source },
        )
        .await?;
        Ok(id)
    }

    pub async fn execute_payment(
        &self,
        ctx: &RequestContext,
        id: PaymentId,
        command: PaymentCommand,
    ) -> Result<(), EngineError> {
        self.execute(self.payments.as_ref(), ctx, &id.to_string(), command, |source| {
            EngineError::Payment { id, source }
        })
        .await
    }

    pub async fn payment(&self, id: PaymentId) -> Result<Payment, EngineError> {
        let history = self.payment_history(id).await?;
        Ok(fold::<Payment>(history.into_iter().map(|e| e.event)))
    }

    pub async fn payment_history(&self, id: PaymentId) -> Result<Vec<RecordedEvent<PaymentEvent>>, EngineError> {
        history(self.payments.as_ref(), &id.to_string()).await
    }

    /// The user's payment orders, newest first, each with the statuses it went through.
    pub async fn payments(&self, tenant: TenantId, user: UserId) -> Result<Vec<PaymentView>, EngineError> {
        Ok(payments::of_user(self.database(), tenant, user).await?)
    }
}
