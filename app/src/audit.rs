//! Audits: the event log of one aggregate with every event's metadata (when, who, on whose behalf, which
//! request), and the state it had at a given time, folded from the events up to then. The log is the record;
//! nothing here reads a read model.

use chrono::{DateTime, Utc};
use consentry_domain::consent::{Consent, ConsentEvent};
use consentry_domain::payment::{Payment, PaymentEvent};
use consentry_domain::{ConsentId, PaymentId};
use consentry_projections::feed;
use cqrs_es::Aggregate;

use crate::{Engine, EngineError, RecordedEvent};

/// An aggregate's events and its state as of a time.
#[derive(Debug, Clone)]
pub struct AuditTrail<A: Aggregate> {
    pub id: String,
    /// `None`: now, after every event.
    pub as_of: Option<DateTime<Utc>>,
    pub events: Vec<RecordedEvent<A::Event>>,
    /// The state folded from the events that had occurred by `as_of`.
    pub state: A,
}

impl<A: Aggregate> AuditTrail<A> {
    fn new(id: String, as_of: Option<DateTime<Utc>>, events: Vec<RecordedEvent<A::Event>>) -> Self {
        let mut state = A::default();
        for recorded in events.iter().filter(|e| Self::known_by(as_of, e)) {
            state.apply(recorded.event.clone());
        }
        Self {
            id,
            as_of,
            events,
            state,
        }
    }

    fn known_by(as_of: Option<DateTime<Utc>>, recorded: &RecordedEvent<A::Event>) -> bool {
        as_of.is_none_or(|as_of| recorded.metadata.occurred_at <= as_of)
    }

    /// Whether `recorded` had occurred by the audit's time.
    pub fn is_known(&self, recorded: &RecordedEvent<A::Event>) -> bool {
        Self::known_by(self.as_of, recorded)
    }
}

impl Engine {
    /// The consent's events and its state as of `as_of` (now when `None`).
    pub async fn audit_consent(
        &self,
        id: ConsentId,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<AuditTrail<Consent>, EngineError> {
        let events: Vec<RecordedEvent<ConsentEvent>> = self.consent_history(id).await?;
        Ok(AuditTrail::new(id.to_string(), as_of, events))
    }

    /// The payment's events and its state as of `as_of` (now when `None`).
    pub async fn audit_payment(
        &self,
        id: PaymentId,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<AuditTrail<Payment>, EngineError> {
        let events: Vec<RecordedEvent<PaymentEvent>> = self.payment_history(id).await?;
        Ok(AuditTrail::new(id.to_string(), as_of, events))
    }

    /// Every consent id in the event log, oldest first.
    pub async fn consent_ids(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.feed().aggregate_ids(feed::CONSENT).await?)
    }

    /// Every payment id in the event log, oldest first.
    pub async fn payment_ids(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.feed().aggregate_ids(feed::PAYMENT).await?)
    }
}
