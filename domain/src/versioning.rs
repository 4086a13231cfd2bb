//! Event versioning. Stored events are never rewritten; when an event's shape changes, its `event_version` is
//! raised and an upcaster turns the older stored shapes into the current one as events are read. The event
//! store (cqrs-es, through `PersistedEventStore::with_upcasters`) and the projection feed both read through
//! [`upcasters`], so every reader sees the current shape. The aggregates own their events' current versions;
//! this module depends on them, never the other way round.
//!
//! History of changes:
//! - `PaymentStatusObserved` 1.1 added `isFinal` (whether the status ends the payment).
//! - `PaymentStatusObserved` 1.2 dropped it again: finality is the status's own (ACSC, ACCC, RJCT, CANC), the
//!   field was a second copy no reader used. 1.0 payloads already have the 1.2 shape; 1.1 payloads lose
//!   `isFinal` on the way in.

use std::sync::LazyLock;

use cqrs_es::persist::{EventUpcaster, SemanticVersionEventUpcaster, SerializedEvent};
use serde_json::Value;

use crate::payment::PAYMENT_STATUS_OBSERVED_VERSION;

/// Built once for the feed, which asks about every event it reads.
static UPCASTERS: LazyLock<Vec<Box<dyn EventUpcaster>>> = LazyLock::new(upcasters);

/// Every upcaster, oldest version first (cqrs-es applies them in this order).
pub fn upcasters() -> Vec<Box<dyn EventUpcaster>> {
    vec![Box::new(SemanticVersionEventUpcaster::new(
        "PaymentStatusObserved",
        PAYMENT_STATUS_OBSERVED_VERSION,
        Box::new(payment_status_observed_1_2),
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

/// 1.1 `{"paymentStatusObserved":{"status":"ACSC","isFinal":true}}` and 1.0
/// `{"paymentStatusObserved":{"status":"ACSC"}}` both become 1.2 `{"paymentStatusObserved":{"status":"ACSC"}}`.
/// A payload of another shape is left alone, so deserialisation reports it with the event's identity instead
/// of this function guessing.
fn payment_status_observed_1_2(mut payload: Value) -> Value {
    if let Some(fields) = payload.get_mut("paymentStatusObserved").and_then(Value::as_object_mut) {
        fields.remove("isFinal");
    }
    payload
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::payment::{PaymentEvent, TransactionStatus};

    #[test]
    fn older_status_observations_read_as_1_2() {
        let current = json!({"paymentStatusObserved": {"status": "ACSC"}});
        for (version, stored) in [
            ("1.0", json!({"paymentStatusObserved": {"status": "ACSC"}})),
            (
                "1.1",
                json!({"paymentStatusObserved": {"status": "ACSC", "isFinal": true}}),
            ),
        ] {
            assert!(needs_upcast("PaymentStatusObserved", version));
            let upcast = upcast("Payment", "PaymentStatusObserved", version, stored);
            assert_eq!(upcast, current, "from {version}");
            let event: PaymentEvent = serde_json::from_value(upcast).unwrap();
            assert_eq!(
                event,
                PaymentEvent::PaymentStatusObserved {
                    status: TransactionStatus::Acsc
                }
            );
        }
    }

    #[test]
    fn current_events_are_left_alone() {
        let stored = json!({"paymentStatusObserved": {"status": "ACSC"}});
        assert!(!needs_upcast("PaymentStatusObserved", PAYMENT_STATUS_OBSERVED_VERSION));
        assert!(!needs_upcast("BankPaymentRecorded", "1.0"));
        assert_eq!(
            upcast("Payment", "PaymentStatusObserved", "1.2", stored.clone()),
            stored
        );
    }
}
