//! Event versioning. Stored events are never rewritten; when an event's shape changes, its `event_version` is
//! raised and an upcaster turns the older stored shape into the current one as events are read. The event
//! store (cqrs-es, through `PersistedEventStore::with_upcasters`) and the projection feed both read through
//! [`upcasters`], so every reader sees the current shape.
//!
//! History of changes:
//! - `PaymentStatusObserved` 1.1 adds `isFinal` (whether the status ends the payment), so readers of the log
//!   do not need the domain's list of final ISO 20022 statuses. 1.0 events get it computed from their status.

use std::sync::LazyLock;

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster, SerializedEvent};
use serde_json::Value;

use crate::payment::TransactionStatus;

/// The current version of `PaymentStatusObserved`.
pub const PAYMENT_STATUS_OBSERVED_VERSION: &str = "1.1";

/// Built once for the feed, which asks about every event it reads.
static UPCASTERS: LazyLock<Vec<Box<dyn EventUpcaster>>> = LazyLock::new(upcasters);

/// Every upcaster, oldest version first (cqrs-es applies them in this order).
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "PaymentStatusObserved",
        PAYMENT_STATUS_OBSERVED_VERSION,
        Box::new(payment_status_observed_1_1),
    ))]
}

/// Brings a stored payload to the current shape of its event, for readers that do not go through cqrs-es
/// (the projection feed). Returns the payload unchanged when no upcaster applies.
pub fn upcast(aggregate_type: &str, event_type: &str, event_version: &str, payload: Value) -> Value {
    let mut event = SerializedEvent {
        aggregate_id: String::new(),
        sequence: 0,
        aggregate_type: aggregate_type.to_owned(),
        event_type: event_type.to_owned(),
        event_version: event_version.to_owned(),
        payload,
        metadata: Value::Null,
    };
    for upcaster in UPCASTERS.iter() {
        if upcaster.can_upcast(&event.event_type, &event.event_version) {
            event = upcaster.upcast(event);
        }
    }
    event.payload
}

/// Whether a stored event of this type and version needs upcasting before it can be deserialised.
pub fn needs_upcast(event_type: &str, event_version: &str) -> bool {
    UPCASTERS
        .iter()
        .any(|upcaster| upcaster.can_upcast(event_type, event_version))
}

/// 1.0 `{"paymentStatusObserved":{"status":"ACSC"}}` becomes 1.1
/// `{"paymentStatusObserved":{"status":"ACSC","isFinal":true}}`. A payload of another shape is left alone, so
/// deserialisation reports it with the event's identity instead of this function guessing.
fn payment_status_observed_1_1(mut payload: Value) -> Value {
    if let Some(fields) = payload.get_mut("paymentStatusObserved").and_then(Value::as_object_mut) {
        let is_final = fields
            .get("status")
            .and_then(Value::as_str)
            .and_then(|code| TransactionStatus::parse(code).ok())
            .map(|status| status.is_final());
        if let Some(is_final) = is_final {
            fields.insert("isFinal".to_owned(), Value::Bool(is_final));
        }
    }
    payload
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::payment::PaymentEvent;

    #[test]
    fn a_1_0_status_observation_reads_as_1_1() {
        let stored = json!({"paymentStatusObserved": {"status": "ACSC"}});
        let current = upcast("Payment", "PaymentStatusObserved", "1.0", stored);
        let event: PaymentEvent = serde_json::from_value(current).unwrap();
        assert_eq!(
            event,
            PaymentEvent::PaymentStatusObserved {
                status: TransactionStatus::Acsc,
                is_final: true
            }
        );
        let pending = upcast(
            "Payment",
            "PaymentStatusObserved",
            "1.0",
            json!({"paymentStatusObserved": {"status": "ACTC"}}),
        );
        assert_eq!(pending["paymentStatusObserved"]["isFinal"], json!(false));
    }

    #[test]
    fn current_events_are_left_alone() {
        let stored = json!({"paymentStatusObserved": {"status": "ACSC", "isFinal": true}});
        assert!(!needs_upcast("PaymentStatusObserved", "1.1"));
        assert!(needs_upcast("PaymentStatusObserved", "1.0"));
        assert_eq!(
            upcast("Payment", "PaymentStatusObserved", "1.1", stored.clone()),
            stored
        );
    }
}
