//! E.164 phone numbers with a masked `Display` so they never leak into logs.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number must start with '+' and a country code (E.164)")]
    MissingPlus,
    #[error("phone number contains {0:?}, which is not a digit")]
    BadCharacter(char),
    #[error("phone number has {0} digits; E.164 allows 8 to 15")]
    BadLength(usize),
    #[error("country code cannot start with 0")]
    LeadingZero,
    #[error("an Indian (+91) number has 10 digits after the country code, found {0}")]
    IndiaLength(usize),
    #[error("an Indian (+91) number cannot start with 0 after the country code")]
    IndiaLeadingZero,
}

/// A phone number in E.164 form (`+` and 8–15 digits).
///
/// `Display` and `Debug` are masked (`+91******3210`); the raw digits are only
/// reachable through [`PhoneNumber::as_str`], for the provider and the store.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number, accepting spaces, dashes, dots and parentheses as
    /// visual separators (they are removed).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let rest = trimmed.strip_prefix('+').ok_or(PhoneError::MissingPlus)?;
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                other => return Err(PhoneError::BadCharacter(other)),
            }
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::BadLength(digits.len()));
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        if let Some(national) = digits.strip_prefix("91") {
            if national.len() != 10 {
                return Err(PhoneError::IndiaLength(national.len()));
            }
            if national.starts_with('0') {
                return Err(PhoneError::IndiaLeadingZero);
            }
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The full number, for the provider API and the store only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the country-code prefix and the last four
    /// digits replaced by `*`.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let keep_head = 2.min(digits.len());
        let keep_tail = 4.min(digits.len() - keep_head);
        let hidden = digits.len() - keep_head - keep_tail;
        format!(
            "+{}{}{}",
            &digits[..keep_head],
            "*".repeat(hidden),
            &digits[digits.len() - keep_tail..]
        )
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        PhoneNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn accepts_e164_and_strips_separators() {
        let p = PhoneNumber::parse(" +91 98765-43210 ").unwrap();
        assert_eq!(p.as_str(), "+919876543210");
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555-0100").unwrap().as_str(),
            "+14155550100"
        );
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(
            PhoneNumber::parse("9876543210"),
            Err(PhoneError::MissingPlus)
        );
        assert_eq!(
            PhoneNumber::parse("+91987654321x"),
            Err(PhoneError::BadCharacter('x'))
        );
        assert_eq!(
            PhoneNumber::parse("+1234567"),
            Err(PhoneError::BadLength(7))
        );
        assert_eq!(
            PhoneNumber::parse("+0123456789"),
            Err(PhoneError::LeadingZero)
        );
        assert_eq!(
            PhoneNumber::parse("+91987654321"),
            Err(PhoneError::IndiaLength(9))
        );
        assert_eq!(
            PhoneNumber::parse("+910876543210"),
            Err(PhoneError::IndiaLeadingZero)
        );
    }

    #[test]
    fn display_and_debug_are_masked() {
        let p = PhoneNumber::parse("+919876543210").unwrap();
        assert_eq!(p.to_string(), "+91******3210");
        assert!(!format!("{p:?}").contains("98765"));
    }

    #[test]
    fn serde_round_trips_as_string() {
        let p = PhoneNumber::parse("+919876543210").unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"+919876543210\"");
        let back: PhoneNumber = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert!(serde_json::from_str::<PhoneNumber>("\"12345\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            let _ = PhoneNumber::parse(&s);
        }

        #[test]
        fn masked_form_never_shows_the_middle(cc in 1u32..=89, rest in "[0-9]{7,12}") {
            let raw = format!("+{cc}{rest}");
            if let Ok(p) = PhoneNumber::parse(&raw) {
                let masked = p.masked();
                prop_assert_eq!(masked.len(), p.as_str().len());
                let digits = &p.as_str()[1..];
                let hidden = &masked[3..masked.len() - 4];
                prop_assert!(hidden.chars().all(|c| c == '*'));
                prop_assert_eq!(&masked[masked.len() - 4..], &digits[digits.len() - 4..]);
            }
        }
    }
}
