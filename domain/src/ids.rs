use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::FieldError;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            pub fn parse(input: &str) -> Result<Self, FieldError> {
                Uuid::parse_str(input.trim())
                    .map(Self)
                    .map_err(|_| FieldError::new($field, format!("{input:?} is not a UUID")))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(
    /// The fintech customer (a host application's tenant) that owns users, consents and payments.
    TenantId,
    "tenantId"
);
uuid_id!(
    /// A end user of a tenant: the PSU in Berlin Group terms.
    UserId,
    "userId"
);
uuid_id!(
    /// Consentry's id of a consent (the bank's own consentId is recorded on the aggregate).
    ConsentId,
    "consentId"
);
uuid_id!(
    /// Consentry's id of a payment (the bank's own paymentId is recorded on the aggregate).
    PaymentId,
    "paymentId"
);

/// A configured bank (ASPSP), named by its configuration key such as `swedbank` or `seb`. Banks are not entities
/// Consentry creates, so their id is the stable, human-readable key that also names the bank's base path in the
/// sandbox; it is 1 to 32 lowercase ASCII letters, digits or dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BankId(String);

impl BankId {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let valid = !input.is_empty()
            && input.len() <= 32
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(input.to_owned()))
        } else {
            Err(FieldError::new(
                "bankId",
                format!("{input:?} is not 1 to 32 lowercase letters, digits or dashes"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BankId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for BankId {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for BankId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_serde() {
        let id = ConsentId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ConsentId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ConsentId>("\"not-a-uuid\"").is_err());
    }

    #[test]
    fn bank_id_rejects_bad_keys() {
        assert_eq!(BankId::parse("swedbank").unwrap().as_str(), "swedbank");
        let err = BankId::parse("Swed Bank").unwrap_err();
        assert_eq!(err.field, "bankId");
        assert!(serde_json::from_str::<BankId>("\"\"").is_err());
        assert!(serde_json::from_str::<BankId>("\"seb\"").is_ok());
    }
}
