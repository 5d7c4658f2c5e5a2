//! The country a citizen's number belongs to when it is written without `+`
//! and a country code (`098765 43210`, `9876543210`): the *default country*
//! of `campaign submit --default-country`.
//!
//! Only India has national forms sampark can read (the table in `phone.rs`);
//! a number with `+` and any country code is accepted whatever the default.
//! Another default is refused by name rather than guessed at: a national
//! number means nothing without that country's numbering plan.

use std::fmt;
use std::str::FromStr;

use super::{PhoneError, PhoneNumber};

/// Where a number without `+` is taken to be from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DefaultCountry {
    /// India (`IN`): the national forms of `PhoneNumber::from_indian_input`.
    #[default]
    India,
}

impl DefaultCountry {
    /// Every supported ISO 3166-1 alpha-2 code.
    pub const SUPPORTED: &'static [&'static str] = &["IN"];

    /// The ISO 3166-1 alpha-2 code.
    pub fn code(&self) -> &'static str {
        match self {
            DefaultCountry::India => "IN",
        }
    }

    /// `input` in E.164: `+` and a country code as written, else a national
    /// form of this country.
    pub fn normalise(&self, input: &str) -> Result<PhoneNumber, PhoneError> {
        match self {
            DefaultCountry::India => PhoneNumber::from_indian_input(input),
        }
    }
}

impl fmt::Display for DefaultCountry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for DefaultCountry {
    type Err = String;

    /// An ISO 3166-1 alpha-2 code, in either case.
    fn from_str(code: &str) -> Result<Self, String> {
        match code.trim().to_ascii_uppercase().as_str() {
            "IN" => Ok(DefaultCountry::India),
            other if other.len() == 2 && other.bytes().all(|b| b.is_ascii_uppercase()) => {
                Err(format!(
                    "default country {other} is not supported: only {} numbers can be read \
                     without '+' (write other countries' numbers as '+' and their country code)",
                    Self::SUPPORTED.join(", ")
                ))
            }
            _ => Err(format!(
                "{code:?} is not a country code; give an ISO 3166-1 alpha-2 code such as IN"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn india_reads_national_forms_and_others_are_refused_by_name() {
        let india: DefaultCountry = "in".parse().unwrap();
        assert_eq!(india, DefaultCountry::India);
        assert_eq!(
            india.normalise("098765 43210").unwrap().as_str(),
            "+919876543210"
        );
        assert_eq!(
            india.normalise("+1 415 555 0100").unwrap().as_str(),
            "+14155550100"
        );
        let err = "BD".parse::<DefaultCountry>().unwrap_err();
        assert!(err.contains("BD is not supported: only IN"), "{err}");
        let err = "India".parse::<DefaultCountry>().unwrap_err();
        assert!(err.contains("not a country code"), "{err}");
    }
}
