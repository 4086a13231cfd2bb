use std::fmt;
use std::str::FromStr;

use iban::{IbanLike, ParseBaseIbanError, ParseIbanError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::FieldError;

/// An International Bank Account Number in electronic form (no spaces, upper case): a country that issues
/// IBANs, a BBAN of that country's length and format, and a valid ISO 7064 mod-97 checksum. The country formats
/// are the SWIFT IBAN registry's, as `iban_validate` carries them. `Debug` masks it, so a full IBAN never reaches
/// a log by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Iban(iban::Iban);

impl Iban {
    /// Accepts the printed form too (`LT12 1000 0111 0100 1000`), in any case.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        Self::parse_field("iban", input)
    }

    /// As [`Iban::parse`], naming `field` in the error (`creditorAccount.iban`, say).
    pub fn parse_field(field: &str, input: &str) -> Result<Self, FieldError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        compact
            .parse::<iban::Iban>()
            .map(Self)
            .map_err(|error| FieldError::new(field, problem(&compact, error)))
    }

    pub fn as_str(&self) -> &str {
        self.0.electronic_str()
    }

    pub fn country(&self) -> &str {
        self.0.country_code()
    }

    /// The form for logs and screens that must not show the whole account: `LT12…0018`.
    pub fn masked(&self) -> String {
        let electronic = self.as_str();
        format!("{}…{}", &electronic[..4], &electronic[electronic.len() - 4..])
    }
}

/// What is wrong with `compact`, in words a user can act on. The library says which rule failed; the details
/// (which character, which country) come from the input.
fn problem(compact: &str, error: ParseIbanError) -> String {
    let country = compact.get(..2).unwrap_or(compact);
    match error {
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidChecksum,
        } => "checksum does not match (a typo?)".into(),
        ParseIbanError::InvalidBaseIban {
            source: ParseBaseIbanError::InvalidFormat,
        } => {
            if compact.is_empty() {
                "is empty".into()
            } else if let Some(bad) = compact.chars().find(|c| !c.is_ascii_alphanumeric()) {
                format!("contains {bad:?}; an IBAN has only letters and digits")
            } else if !country.bytes().all(|b| b.is_ascii_uppercase()) {
                format!("starts with {country:?}; an IBAN starts with the two letters of its country")
            } else if compact.len() < 4 {
                format!("has {} characters; that is too short for an IBAN", compact.len())
            } else if !compact[2..4].bytes().all(|b| b.is_ascii_digit()) {
                "check digits (characters 3 and 4) must be digits".into()
            } else {
                format!("has {} characters; an IBAN has at most 34", compact.len())
            }
        }
        ParseIbanError::UnknownCountry(_) => format!("{country:?} is not a country that issues IBANs"),
        ParseIbanError::InvalidBban(_) => format!(
            "the account part after the check digits ({} characters) does not have the format of IBANs of \
             {country} (the SWIFT IBAN registry fixes its length and where letters and digits go)",
            compact.len().saturating_sub(4)
        ),
    }
}

impl PartialOrd for Iban {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Iban {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iban({})", self.masked())
    }
}

impl fmt::Display for Iban {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        serializer.serialize_str(self.as_str())
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
    use proptest::prelude::*;

    use super::*;

    /// `country` + the check digits that make `bban` pass mod-97 + `bban`: lets a test build an IBAN whose
    /// checksum is right, so the rule it is about is the only one broken.
    fn with_check_digits(country: &str, bban: &str) -> String {
        let remainder = format!("{bban}{country}00").bytes().fold(0u32, |acc, b| {
            if b.is_ascii_digit() {
                (acc * 10 + u32::from(b - b'0')) % 97
            } else {
                (acc * 100 + u32::from(b - b'A') + 10) % 97
            }
        });
        format!("{country}{:02}{bban}", 98 - remainder)
    }

    #[test]
    fn accepts_valid_ibans_in_printed_and_electronic_form() {
        for raw in [
            "LT12 1000 0111 0100 1000",
            "DE89370400440532013000",
            "GB82WEST12345698765432",
            "se4550000000058398257466",
            "NO9386011117947",
            "LV80BANK0000435195001",
            "EE382200221020145685",
        ] {
            assert!(Iban::parse(raw).is_ok(), "{raw}");
        }
        assert_eq!(
            Iban::parse("lt12 1000 0111 0100 1000").unwrap().as_str(),
            "LT121000011101001000"
        );
        assert_eq!(with_check_digits("LT", "1000011101001000"), "LT121000011101001000");
    }

    #[test]
    fn rejects_with_the_problem_named() {
        let cases = [
            ("", "is empty"),
            ("LT12-1000", "contains '-'"),
            ("12LT10000111", "two letters of its country"),
            ("LTAB10000111", "check digits"),
            ("ZZ1210000111", "checksum"),
            (&with_check_digits("ZZ", "10000111"), "not a country"),
            ("LT1210000111010010", "checksum"),
            ("LT13 1000 0111 0100 1000", "checksum"),
            ("LT121000011101001000100001110100100010000", "at most 34"),
        ];
        for (raw, problem) in cases {
            let err = Iban::parse_field("creditorAccount.iban", raw).unwrap_err();
            assert_eq!(err.field, "creditorAccount.iban");
            assert!(err.problem.contains(problem), "{raw}: {}", err.problem);
        }
    }

    /// The hand-written check this type had before knew only each country's length and mod-97: all of these
    /// passed it, with a correct checksum and the right length, and a bank would refuse every one.
    #[test]
    fn refuses_a_bban_of_the_wrong_shape_for_its_country() {
        let cases = [
            // LT: 5-digit bank code and 11-digit account, digits only.
            ("LT", "10000111010010A0"),
            // DE: 8-digit bank code and 10-digit account.
            ("DE", "3704004405320130AB"),
            // GB: a 4-letter bank code first, then 14 digits.
            ("GB", "123412345698765432"),
            // SE: 20 digits.
            ("SE", "5000000005839825746X"),
            // EE, LV: lengths were checked, letters in a digit position were not.
            ("EE", "22002210201456X5"),
            ("LV", "0000BANK435195001"),
        ];
        for (country, bban) in cases {
            let raw = with_check_digits(country, bban);
            let err = Iban::parse_field("creditorAccount.iban", &raw).unwrap_err();
            assert!(
                err.problem.contains(&format!("format of IBANs of {country}")),
                "{raw}: {}",
                err.problem
            );
        }
        // A checksum-valid IBAN one digit short of its country's length is a BBAN problem too.
        let short = with_check_digits("LT", "100001110100100");
        let err = Iban::parse(&short).unwrap_err();
        assert!(err.problem.contains("15 characters"), "{short}: {}", err.problem);
    }

    #[test]
    fn debug_masks_and_serde_validates() {
        let iban = Iban::parse("LT121000011101001000").unwrap();
        assert_eq!(format!("{iban:?}"), "Iban(LT12…1000)");
        let json = serde_json::to_string(&iban).unwrap();
        assert_eq!(json, "\"LT121000011101001000\"");
        assert_eq!(serde_json::from_str::<Iban>(&json).unwrap(), iban);
        assert!(serde_json::from_str::<Iban>("\"LT131000011101001000\"").is_err());
        let wrong_shape = format!("\"{}\"", with_check_digits("LT", "10000111010010A0"));
        assert!(serde_json::from_str::<Iban>(&wrong_shape).is_err());
    }

    proptest! {
        /// Any Lithuanian BBAN of the right shape makes a valid IBAN, printed or not, and the parsed form is its
        /// electronic form.
        #[test]
        fn every_well_formed_bban_parses(bban in "[0-9]{16}") {
            let electronic = with_check_digits("LT", &bban);
            let printed: Vec<String> = electronic
                .as_bytes()
                .chunks(4)
                .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
                .collect();
            let iban = Iban::parse(&printed.join(" ")).unwrap();
            prop_assert_eq!(iban.as_str(), electronic.as_str());
            prop_assert_eq!(iban.country(), "LT");
            let debug = format!("{iban:?}");
            prop_assert!(!debug.contains(&electronic[4..16]));
        }

        /// Mod-97 catches every single-character typo in the account part.
        #[test]
        fn a_changed_digit_is_refused(bban in "[0-9]{16}", position in 0usize..16, delta in 1u8..10) {
            let electronic = with_check_digits("LT", &bban);
            let mut typo = electronic.clone().into_bytes();
            typo[4 + position] = b'0' + (typo[4 + position] - b'0' + delta) % 10;
            let typo = String::from_utf8(typo).unwrap();
            prop_assert!(Iban::parse(&typo).is_err(), "{} accepted", typo);
        }

        /// A letter where the registry puts a digit is refused even when the checksum is made to match.
        #[test]
        fn a_letter_in_a_digit_position_is_refused(bban in "[0-9]{16}", position in 0usize..16, letter in "[A-Z]") {
            let mut shaped = bban.clone();
            shaped.replace_range(position..position + 1, &letter);
            prop_assert!(Iban::parse(&with_check_digits("LT", &shaped)).is_err());
        }
    }
}
