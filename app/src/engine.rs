//! The `Engine`: the composition root a host application embeds. It wires the event store (one repository per
//! aggregate), the banks, the `Clock` and the read side together; the capabilities (`consents`,
//! `account_information`, `payments`, `tenants`, `audit`) add their operations to it. Here is what they share:
//! every command is stamped with metadata from the `Clock` (who, on whose behalf, which request), executed on
//! the event store, and retried when another writer committed to the same aggregate first.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use consentry_adapters::{repository, AggregateRepository};
use consentry_domain::account_data::{AccountData, AccountDataError};
use consentry_domain::bank::BankError;
use consentry_domain::consent::{Consent, ConsentError, ConsentServices};
use consentry_domain::payment::{Payment, PaymentError};
use consentry_domain::{Actor, BankId, Clock, ConsentId, EventMetadata, FieldError, PaymentId, TenantId, UserId};
use consentry_projections::read_models::QueryError;
use consentry_store::{Database, StoreError};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope};
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
    pub(crate) consents: Arc<dyn AggregateRepository<Consent>>,
    pub(crate) payments: Arc<dyn AggregateRepository<Payment>>,
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
            .migrate(&[
                consentry_adapters::MIGRATIONS,
                consentry_projections::MIGRATIONS,
                crate::idempotency::MIGRATIONS,
            ])
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
    pub(crate) async fn execute<A>(
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

    /// Runs `command` on an aggregate under an id the caller has just made, without loading it first (it has
    /// no events). Should the id be taken after all, the command runs again as [`Self::execute`] does, on the
    /// aggregate as stored, and the domain decides.
    pub(crate) async fn create<A>(
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
        match repository
            .create(id, command.clone(), self.metadata(ctx).to_map())
            .await
        {
            Ok(()) => Ok(()),
            Err(AggregateError::AggregateConflict) => self.execute(repository, ctx, id, command, domain_error).await,
            Err(AggregateError::UserError(source)) => Err(domain_error(source)),
            Err(other) => Err(EngineError::Store(other.to_string())),
        }
    }
}

pub(crate) fn fold<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> A {
    let mut aggregate = A::default();
    for event in events {
        aggregate.apply(event);
    }
    aggregate
}

pub(crate) async fn history<A: Aggregate>(
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
