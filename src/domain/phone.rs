//! Phone numbers: E.164 with a masked `Display`, so they never leak into
//! logs, and the normalisation of the forms Indian upstream systems send.
//!
//! Two constructors, chosen per source:
//!
//! - [`PhoneNumber::parse`] is strict E.164 (`+` first). It is for numbers a
//!   machine or an operator writes deliberately: a campaign's `caller_id`
//!   (the programme's own number, registered with the provider), config
//!   values, provider webhooks, the simulator, and stored jobs (serde).
//!   Guessing there would hide a mistake that affects a whole campaign.
//! - [`PhoneNumber::from_indian_input`] is for citizens' numbers in campaign
//!   contacts (JSON and CSV), which come from Indian systems in many forms.
//!
//! `from_indian_input`, after removing spaces, dashes, dots and parentheses
//! (N is a 10-digit Indian national number: STD code and subscriber number,
//! or a mobile number; it never starts with 0):
//!
//! | input        | digits | becomes | why                                   |
//! |--------------|--------|---------|---------------------------------------|
//! | `+` cc …     | 8–15   | itself  | E.164, exactly as `parse`             |
//! | `0091` N     | 14     | `+91N`  | international prefix 00               |
//! | `091` N      | 13     | `+91N`  | country code written with a 0         |
//! | `91` N       | 12     | `+91N`  | country code without `+`              |
//! | `0` N        | 11     | `+91N`  | trunk prefix: landline or mobile      |
//! | N, 6–9 first | 10     | `+91N`  | a mobile (or a landline whose STD code starts 6–8: same E.164) |
//!
//! Refused: a bare 10-digit number starting 1–5 (a landline without its
//! trunk 0: more often a truncated or placeholder value than a number, and
//! written correctly as `0`N or `+91`N), `00` and another country code
//! (foreign numbers need `+`), any other length, and every rule of `parse`.
//! Every refusal is a [`PhoneError`] naming its rule, and never shows digits.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a phone number was refused. Messages never contain the number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number must start with '+' and a country code (E.164)")]
    MissingPlus,
    #[error("phone number contains {0:?}, which is not a digit")]
    BadCharacter(char),
    #[error("phone number has '+' after its start; '+' may only come first")]
    MisplacedPlus,
    #[error("phone number has {0} digits; E.164 allows 8 to 15")]
    BadLength(usize),
    #[error("country code cannot start with 0")]
    LeadingZero,
    #[error("an Indian (+91) number has 10 digits after the country code, found {0}")]
    IndiaLength(usize),
    #[error("an Indian (+91) number cannot start with 0 after the country code")]
    IndiaLeadingZero,
    #[error(
        "a number starting with 00 is international: only India may be written so \
         (0091 and 10 digits); write another country as '+' and its country code"
    )]
    ForeignWithoutPlus,
    #[error(
        "a number starting with the trunk prefix 0 needs 10 digits after it \
         (STD code and subscriber number, or a mobile), found {0}"
    )]
    TrunkLength(usize),
    #[error(
        "a 10-digit number without 0 or +91 must be a mobile number starting with 6, 7, 8 or 9; \
         write a landline with its trunk 0 and STD code, or with +91"
    )]
    BareLandline,
    #[error(
        "a number without '+' or a leading 0 must have 10 digits (a mobile) \
         or 12 (91 and 10 digits), found {0}"
    )]
    NationalLength(usize),
}

/// A phone number in E.164 form (`+` and 8–15 digits).
///
/// `Display` and `Debug` are masked (`+91******3210`); the raw digits are only
/// reachable through [`PhoneNumber::as_str`], for the provider and the store.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses an E.164 number (`+` first), accepting spaces, dashes, dots and
    /// parentheses as visual separators (they are removed).
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if !trimmed.starts_with('+') {
            return Err(PhoneError::MissingPlus);
        }
        let (_, digits) = scan(trimmed)?;
        international(&digits)
    }

    /// Normalises a citizen's number as Indian systems write it (the table in
    /// the module header) to E.164. An E.164 input is accepted as by
    /// [`parse`](Self::parse), foreign countries included; separators may
    /// also come before the `+` (`(+91) 98765-43210`).
    pub fn from_indian_input(input: &str) -> Result<Self, PhoneError> {
        let (plus, digits) = scan(input.trim())?;
        match (plus, digits.is_empty()) {
            (true, _) => international(&digits),
            (false, true) => Err(PhoneError::Empty),
            (false, false) => national(&digits),
        }
    }

    /// The number of a contact that ended: the store drops a number the
    /// moment its contact ends (retention), so an ended job read back has
    /// this instead. It is never dialled (ended jobs are not), shows as `+`
    /// masked or not, and matches no citizen's number.
    pub fn erased() -> Self {
        PhoneNumber("+".to_owned())
    }

    /// Whether this is [`PhoneNumber::erased`].
    pub fn is_erased(&self) -> bool {
        self.0 == "+"
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

/// Masks text that may hold a phone number but did not parse (a refused
/// contact's `phone`, an unknown key): every digit becomes `*` except the
/// last four and, after a leading `+`, the first two (the country code, as in
/// [`PhoneNumber::masked`]). Other characters are kept, so the reason a
/// value was refused stays visible.
pub(crate) fn mask_digits(raw: &str) -> String {
    let total = raw.chars().filter(char::is_ascii_digit).count();
    let head = if raw.trim_start().starts_with('+') {
        2
    } else {
        0
    };
    let mut seen = 0;
    raw.chars()
        .map(|c| {
            if !c.is_ascii_digit() {
                return c;
            }
            seen += 1;
            if seen <= head || seen + 4 > total {
                c
            } else {
                '*'
            }
        })
        .collect()
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')')
}

/// The digits of `input` without separators, and whether a `+` came before
/// the first digit.
fn scan(input: &str) -> Result<(bool, String), PhoneError> {
    let mut plus = false;
    let mut digits = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if !plus && digits.is_empty() => plus = true,
            '+' => return Err(PhoneError::MisplacedPlus),
            c if is_separator(c) => {}
            other => return Err(PhoneError::BadCharacter(other)),
        }
    }
    Ok((plus, digits))
}

/// The digits after a `+`: E.164, with India's national rules for `91`.
fn international(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if !(8..=15).contains(&digits.len()) {
        return Err(PhoneError::BadLength(digits.len()));
    }
    if digits.starts_with('0') {
        return Err(PhoneError::LeadingZero);
    }
    match digits.strip_prefix("91") {
        Some(national) => india(national),
        None => Ok(PhoneNumber(format!("+{digits}"))),
    }
}

/// `+91` and the national number `n`.
fn india(n: &str) -> Result<PhoneNumber, PhoneError> {
    if n.len() != 10 {
        return Err(PhoneError::IndiaLength(n.len()));
    }
    if n.starts_with('0') {
        return Err(PhoneError::IndiaLeadingZero);
    }
    Ok(PhoneNumber(format!("+91{n}")))
}

/// Digits written without `+`: the national and prefixed Indian forms.
fn national(digits: &str) -> Result<PhoneNumber, PhoneError> {
    if let Some(abroad) = digits.strip_prefix("00") {
        return match abroad.strip_prefix("91") {
            Some(n) => india(n),
            None => Err(PhoneError::ForeignWithoutPlus),
        };
    }
    // `091` N before the trunk rule: as `0` and 12 digits it would be refused.
    if digits.len() == 13
        && let Some(n) = digits.strip_prefix("091")
    {
        return india(n);
    }
    if let Some(n) = digits.strip_prefix('0') {
        return match n.len() {
            10 => india(n),
            other => Err(PhoneError::TrunkLength(other)),
        };
    }
    match digits.len() {
        12 if digits.starts_with("91") => india(&digits[2..]),
        10 if matches!(digits.as_bytes()[0], b'6'..=b'9') => india(digits),
        10 => Err(PhoneError::BareLandline),
        other => Err(PhoneError::NationalLength(other)),
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

/// Strict E.164: what sampark itself wrote (stored jobs) or what a machine
/// sends; campaign contacts go through `from_indian_input` instead.
impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        // An ended job's stored spec keeps `erased` (retention).
        if raw == "+" {
            return Ok(PhoneNumber::erased());
        }
        PhoneNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "phone_tests.rs"]
mod tests;
