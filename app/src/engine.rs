//! The `Engine`: the one facade a host application embeds. It parses outside input into domain values (a bad
//! field is refused before anything is stored), stamps every command with metadata from the `Clock`, executes
//! it on the event store, and retries when another writer committed to the same aggregate first.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use consentry_adapters::{repository, AggregateRepository};
use consentry_domain::account_data::{AccountData, AccountDataError, AccountDataEvent};
use consentry_domain::bank::BankError;
use consentry_domain::consent::{
    Consent, ConsentAccess, ConsentCommand, ConsentError, ConsentRequest, ConsentServices,
};
use consentry_domain::payment::{
    Payment, PaymentCommand, PaymentError, PaymentProduct, PaymentRequest, PaymentService,
};
use consentry_domain::{
    Actor, BankId, Clock, ConsentId, EventMetadata, FieldError, Iban, Money, PaymentId, TenantId, UserId,
};
use consentry_projections::read_models::QueryError;
use consentry_store::{Database, StoreError};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope};
use serde::Deserialize;
use uuid::Uuid;

use crate::banks::Banks;

/// How often a command is retried after losing an optimistic-concurrency race before the conflict is reported.
const CONFLICT_RETRIES: u32 = 64;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid input: {0}")]
    InvalidInput(#[from] FieldError),
    #[error("consent {id}: {source}")]
    Consent { id: ConsentId, source: ConsentError },
    #[error("payment {id}: {source}")]
    Payment { id: PaymentId, source: PaymentError },
    #[error("{aggregate} {id} was changed concurrently {attempts} times in a row; nothing was stored")]
    Conflict {
        aggregate: &'static str,
        id: String,
        attempts: u32,
    },
    #[error("{aggregate} {id} does not exist")]
    NotFound { aggregate: &'static str, id: String },
    #[error("event store: {0}")]
    Store(String),
    #[error("bank {bank}: {source}")]
    Bank { bank: BankId, source: BankError },
    #[error("SCA callback refused: {0}")]
    CallbackRefused(String),
    #[error("account data of consent {id}: {source}")]
    AccountData { id: ConsentId, source: AccountDataError },
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        EngineError::Store(error.to_string())
    }
}

/// A read model's query fails on the caller's input (a rule that does not compile) or on the store.
impl From<QueryError> for EngineError {
    fn from(error: QueryError) -> Self {
        match error {
            QueryError::Invalid(field) => EngineError::InvalidInput(field),
            other => EngineError::Store(other.to_string()),
        }
    }
}

/// Who is asking, on whose behalf, and as part of which request: becomes the metadata of every event the call
/// produces.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
}

impl RequestContext {
    fn new(tenant: TenantId, user: Option<UserId>, actor: Actor) -> Self {
        let correlation_id = Uuid::new_v4();
        Self {
            tenant,
            user,
            actor,
            correlation_id,
            causation_id: correlation_id,
        }
    }

    /// A request made by the user (through the host application).
    pub fn user(tenant: TenantId, user: UserId) -> Self {
        Self::new(tenant, Some(user), Actor::User)
    }

    /// Consentry reacting to something (a bank answer, a callback).
    pub fn system(tenant: TenantId, user: Option<UserId>) -> Self {
        Self::new(tenant, user, Actor::System)
    }

    /// A scheduled job.
    pub fn job(tenant: TenantId, user: Option<UserId>) -> Self {
        Self::new(tenant, user, Actor::Job)
    }

    /// The same request, caused by an earlier message (an event or command id).
    pub fn caused_by(self, causation_id: Uuid) -> Self {
        Self { causation_id, ..self }
    }
}

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

/// One stored event with its position in the aggregate and its typed metadata.
#[derive(Debug, Clone)]
pub struct RecordedEvent<E> {
    pub sequence: usize,
    pub event: E,
    pub metadata: EventMetadata,
}

pub struct Engine {
    pub(crate) banks: Banks,
    database: Database,
    clock: Arc<dyn Clock>,
    consents: Arc<dyn AggregateRepository<Consent>>,
    payments: Arc<dyn AggregateRepository<Payment>>,
    pub(crate) account_data: Arc<dyn AggregateRepository<AccountData>>,
}

impl Engine {
    /// Connects to the store `database_url` names (the default SQLite file when `None`) and migrates it.
    pub async fn open(database_url: Option<&str>, clock: Arc<dyn Clock>) -> Result<Self, EngineError> {
        let database = Database::connect(database_url).await?;
        Self::with_database(database, clock).await
    }

    pub async fn with_database(database: Database, clock: Arc<dyn Clock>) -> Result<Self, EngineError> {
        database
            .migrate(&[consentry_adapters::MIGRATIONS, consentry_projections::MIGRATIONS])
            .await?;
        let consents = repository::<Consent>(&database, ConsentServices { clock: clock.clone() });
        let payments = repository::<Payment>(&database, ());
        let account_data = repository::<AccountData>(&database, ());
        Ok(Self {
            banks: Banks::default(),
            database,
            clock,
            consents,
            payments,
            account_data,
        })
    }

    /// The banks this engine reaches (none until given).
    pub fn with_banks(self, banks: Banks) -> Self {
        Self { banks, ..self }
    }

    pub fn database(&self) -> &Database {
        &self.database
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn metadata(&self, ctx: &RequestContext) -> EventMetadata {
        EventMetadata {
            occurred_at: self.clock.now(),
            tenant: ctx.tenant,
            user: ctx.user,
            actor: ctx.actor,
            correlation_id: ctx.correlation_id,
            causation_id: ctx.causation_id,
        }
    }

    /// Runs `command`, retrying from a fresh load when a concurrent writer won the race (the command is cloned
    /// for each try because the aggregate consumes it), and maps the outcome to an `EngineError`.
    async fn execute<A>(
        &self,
        repository: &dyn AggregateRepository<A>,
        ctx: &RequestContext,
        id: &str,
        command: A::Command,
        domain_error: impl FnOnce(A::Error) -> EngineError,
    ) -> Result<(), EngineError>
    where
        A: Aggregate,
        A::Command: Clone,
    {
        let mut conflicts = 0;
        loop {
            match repository
                .execute(id, command.clone(), self.metadata(ctx).to_map())
                .await
            {
                Ok(()) => return Ok(()),
                Err(AggregateError::AggregateConflict) if conflicts < CONFLICT_RETRIES => {
                    conflicts += 1;
                    // A short, growing pause with jitter, so the writers that collided do not collide again.
                    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) % 5;
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(conflicts.min(20)) + jitter)).await;
                }
                Err(AggregateError::AggregateConflict) => {
                    return Err(EngineError::Conflict {
                        aggregate: A::TYPE,
                        id: id.to_owned(),
                        attempts: conflicts + 1,
                    })
                }
                Err(AggregateError::UserError(source)) => return Err(domain_error(source)),
                Err(other) => return Err(EngineError::Store(other.to_string())),
            }
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Consents

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
        self.execute_consent(ctx, id, ConsentCommand::Request(request)).await?;
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

    pub async fn consent_history(
        &self,
        id: ConsentId,
    ) -> Result<Vec<RecordedEvent<consentry_domain::consent::ConsentEvent>>, EngineError> {
        history(self.consents.as_ref(), &id.to_string()).await
    }

    pub(crate) async fn execute_account_data(
        &self,
        ctx: &RequestContext,
        id: ConsentId,
        command: consentry_domain::account_data::AccountDataCommand,
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

    // -----------------------------------------------------------------------------------------------------
    // Payments

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
        self.execute_payment(ctx, id, PaymentCommand::RequestInitiation(request))
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

    pub async fn payment_history(
        &self,
        id: PaymentId,
    ) -> Result<Vec<RecordedEvent<consentry_domain::payment::PaymentEvent>>, EngineError> {
        history(self.payments.as_ref(), &id.to_string()).await
    }
}

fn fold<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> A {
    let mut aggregate = A::default();
    for event in events {
        aggregate.apply(event);
    }
    aggregate
}

async fn history<A: Aggregate>(
    repository: &dyn AggregateRepository<A>,
    id: &str,
) -> Result<Vec<RecordedEvent<A::Event>>, EngineError> {
    let events = repository
        .events(id)
        .await
        .map_err(|e| EngineError::Store(e.to_string()))?;
    if events.is_empty() {
        return Err(EngineError::NotFound {
            aggregate: A::TYPE,
            id: id.to_owned(),
        });
    }
    events
        .into_iter()
        .map(
            |EventEnvelope {
                 sequence,
                 payload,
                 metadata,
                 ..
             }| {
                let metadata = EventMetadata::from_map(&metadata).map_err(|e| EngineError::Store(e.to_string()))?;
                Ok(RecordedEvent {
                    sequence,
                    event: payload,
                    metadata,
                })
            },
        )
        .collect()
}
