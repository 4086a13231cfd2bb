//! How the demo prints the events it stored: each aggregate's new events once, as the story goes on, with their
//! payloads abbreviated to a line.

use std::collections::HashMap;
use std::fmt::Display;

use consentry::RecordedEvent;
use cqrs_es::DomainEvent;
use serde::Serialize;

/// Prints each event of an aggregate once, as the story goes on.
#[derive(Default)]
pub struct Printed {
    seen: HashMap<String, usize>,
}

impl Printed {
    pub fn show<E: Serialize + DomainEvent>(&mut self, label: &str, id: impl Display, events: &[RecordedEvent<E>]) {
        let seen = self.seen.entry(id.to_string()).or_default();
        for recorded in events.iter().skip(*seen) {
            let payload = serde_json::to_value(&recorded.event)
                .ok()
                .and_then(|v| v.as_object().and_then(|o| o.values().next().cloned()))
                .filter(|v| !v.is_null())
                .map(|v| format!(" {}", abbreviate(&v.to_string())))
                .unwrap_or_default();
            println!(
                "      {label} #{} {}{payload}  [{} by {}]",
                recorded.sequence,
                recorded.event.event_type(),
                recorded.metadata.occurred_at.format("%Y-%m-%d %H:%M"),
                recorded.metadata.actor,
            );
        }
        *seen = events.len();
    }
}

pub fn abbreviate(text: &str) -> String {
    const MAX: usize = 150;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
