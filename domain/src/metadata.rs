use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{FieldError, TenantId, UserId};

/// Who caused an event: the end user, Consentry itself reacting to something (a bank answer, an expiry), or a
/// scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    User,
    System,
    Job,
}

impl Actor {
    pub fn as_str(&self) -> &'static str {
        match self {
            Actor::User => "user",
            Actor::System => "system",
            Actor::Job => "job",
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metadata stored with every event: when it happened (from the `Clock`), for whom, who caused it, and which
/// request (correlation) and which earlier message (causation) it came from. cqrs-es stores metadata as a
/// string map; this is its typed form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub occurred_at: DateTime<Utc>,
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub actor: Actor,
    pub correlation_id: Uuid,
    pub causation_id: Uuid,
}

const OCCURRED_AT: &str = "occurred_at";
const TENANT: &str = "tenant_id";
const USER: &str = "user_id";
const ACTOR: &str = "actor";
const CORRELATION: &str = "correlation_id";
const CAUSATION: &str = "causation_id";

impl EventMetadata {
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::from([
            (OCCURRED_AT.to_owned(), self.occurred_at.to_rfc3339()),
            (TENANT.to_owned(), self.tenant.to_string()),
            (ACTOR.to_owned(), self.actor.as_str().to_owned()),
            (CORRELATION.to_owned(), self.correlation_id.to_string()),
            (CAUSATION.to_owned(), self.causation_id.to_string()),
        ]);
        if let Some(user) = self.user {
            map.insert(USER.to_owned(), user.to_string());
        }
        map
    }

    /// Reads the metadata back from a stored event; a missing or malformed entry names its key.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, FieldError> {
        let get = |key: &str| {
            map.get(key)
                .map(String::as_str)
                .ok_or_else(|| FieldError::new(format!("metadata.{key}"), "is missing"))
        };
        let uuid = |key: &str| {
            get(key).and_then(|raw| {
                Uuid::parse_str(raw).map_err(|_| FieldError::new(format!("metadata.{key}"), "is not a UUID"))
            })
        };
        let occurred_at = DateTime::parse_from_rfc3339(get(OCCURRED_AT)?)
            .map_err(|e| FieldError::new("metadata.occurred_at", e))?
            .with_timezone(&Utc);
        let actor = match get(ACTOR)? {
            "user" => Actor::User,
            "system" => Actor::System,
            "job" => Actor::Job,
            other => return Err(FieldError::new("metadata.actor", format!("{other:?} is not an actor"))),
        };
        let user = match map.get(USER) {
            Some(raw) => Some(UserId::parse(raw)?),
            None => None,
        };
        Ok(Self {
            occurred_at,
            tenant: TenantId::parse(get(TENANT)?)?,
            user,
            actor,
            correlation_id: uuid(CORRELATION)?,
            causation_id: uuid(CAUSATION)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_through_the_string_map() {
        let meta = EventMetadata {
            occurred_at: "2026-01-02T03:04:05Z".parse().unwrap(),
            tenant: TenantId::new(),
            user: Some(UserId::new()),
            actor: Actor::Job,
            correlation_id: Uuid::new_v4(),
            causation_id: Uuid::new_v4(),
        };
        assert_eq!(EventMetadata::from_map(&meta.to_map()).unwrap(), meta);
        let mut broken = meta.to_map();
        broken.remove("tenant_id");
        assert_eq!(
            EventMetadata::from_map(&broken).unwrap_err().field,
            "metadata.tenant_id"
        );
    }
}
