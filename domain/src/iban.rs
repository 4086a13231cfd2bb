use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// IBAN lengths per country, from the SWIFT IBAN registry.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// An International Bank Account Number in electronic form (no spaces, upper case), with a valid country
/// length and ISO 7064 mod-97 checksum. `Debug` masks it, so a full IBAN never reaches a log by accident.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);

impl Iban {
    /// Accepts the printed form too (`LT12 1000 0111 0100 1000`).
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("iban", input)
    }

    /// As [`Iban::parse`], naming `field` in the error (`creditorAccount.iban`, say).
    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let fail = |problem: String| Err(FieldError::new(field, problem));
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if compact.is_empty() {
            return fail("is empty".into());
        }
        if let Some(bad) = compact.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return fail(format!("contains {bad:?}; an IBAN has only letters and digits"));
        }
        let country = compact.get(..2).unwrap_or(&compact);
        let Some(&(_, expected)) = IBAN_LENGTHS.iter().find(|(code, _)| *code == country) else {
            return fail(format!("{country:?} is not a country that issues IBANs"));
        };
        if compact.len() != expected {
            return fail(format!(
                "has {} characters; IBANs of {country} have {expected}",
                compact.len()
            ));
        }
        if !compact[2..4].bytes().all(|b| b.is_ascii_digit()) {
            return fail("check digits (characters 3 and 4) must be digits".into());
        }
        if mod97(&compact) != 1 {
            return fail("checksum does not match (a typo?)".into());
        }
        Ok(Self(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn country(&self) -> &str {
        &self.0[..2]
    }

    /// The form for logs and screens that must not show the whole account: `LT12…0018`.
    pub fn masked(&self) -> String {
        format!("{}…{}", &self.0[..4], &self.0[self.0.len() - 4..])
    }
}

/// ISO 7064 MOD 97-10 over the rearranged IBAN, folding digit by digit so any length fits in a u32.
fn mod97(iban: &str) -> u32 {
    let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
    rearranged.fold(0u32, |acc, b| {
        if b.is_ascii_digit() {
            (acc * 10 + u32::from(b - b'0')) % 97
        } else {
            (acc * 100 + u32::from(b - b'A') + 10) % 97
        }
    })
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.masked())
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Iban {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Iban {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Iban {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ibans_in_printed_and_electronic_form() {
        for raw in [
            "LT12 1000 0111 0100 1000",
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "se4550000000058398257466",
            "NO9386011117947",
        ] {
            assert!(Iban::parse(raw).is_ok(), "{raw}");
        }
        assert_eq!(
            Iban::parse("lt12 1000 0111 0100 1000").unwrap().as_str(),
            "LT121000011101001000"
        );
    }

    #[test]
    fn rejects_with_the_problem_named() {
        let cases = [
            ("", "is empty"),
            ("LT12-1000", "contains '-'"),
            ("ZZ1210000111", "not a country"),
            ("LT1210000111010010", "IBANs of LT have 20"),
            ("LT13 1000 0111 0100 1000", "checksum"),
        ];
        for (raw, problem) in cases {
            let err = Iban::parse_field("creditorAccount.iban", raw).unwrap_err();
            assert_eq!(err.field, "creditorAccount.iban");
            assert!(err.problem.contains(problem), "{raw}: {}", err.problem);
        }
    }

    #[test]
    fn debug_masks_and_serde_validates() {
        let iban = Iban::parse("LT121000011101001000").unwrap();
        assert_eq!(format!("{iban:?}"), "Iban(LT12…1000)");
        let json = serde_json::to_string(&iban).unwrap();
        assert_eq!(json, "\"LT121000011101001000\"");
        assert_eq!(serde_json::from_str::<Iban>(&json).unwrap(), iban);
        assert!(serde_json::from_str::<Iban>("\"LT131000011101001000\"").is_err());
    }
}
