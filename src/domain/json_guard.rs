//! A pass over a campaign document before it is read, for what `serde_json`
//! lets through: a key written twice in one object (the later value would
//! silently win), nesting deeper than any document needs, and strings longer
//! than any field needs, and (for a campaign document read by the daemon)
//! more contacts than one document may hold. Each refusal names the JSON
//! path (`contacts[3].office`). The admin API's JSON bodies are checked with
//! the same pass (`check_document`).
//!
//! Owns: these limits. Does not own: the fields' meaning (`campaign.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::mask_digit_runs;

/// Deepest nesting of objects and arrays (a document needs four).
pub const MAX_DEPTH: usize = 16;
/// Longest string, in bytes, anywhere in a document (names, offices,
/// services, ids, holiday dates: none needs more).
pub const MAX_STRING_BYTES: usize = 4096;

/// The default of `intake.max_contacts_per_document`: contacts one campaign
/// document may hold. Ten times the 5,000 of each entry `campaign submit`
/// and the admin API write, so their documents always pass.
pub const DEFAULT_MAX_CONTACTS: usize = 50_000;

/// Why a document was refused before it was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Not JSON: the parser's words, with line and column.
    #[error("{0}")]
    Syntax(String),
    /// JSON, but over a limit: where and why.
    #[error("{0}")]
    Limit(String),
}

/// Checks `json` against the limits above (any number of contacts).
pub fn check_document(json: &str) -> Result<(), GuardError> {
    check_campaign_document(json, usize::MAX)
}

/// Checks `json` against the limits above, and that its top-level
/// `contacts` array holds at most `max_contacts` elements. The array is
/// counted to its end, so the refusal says how many it holds.
pub fn check_campaign_document(json: &str, max_contacts: usize) -> Result<(), GuardError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let checked = Node {
        at: &Path::Root,
        max_contacts,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    checked.map_err(|e| {
        let text = e.to_string();
        match text.strip_prefix(LIMIT) {
            Some(rest) => {
                GuardError::Limit(rest.split(" at line ").next().unwrap_or(rest).to_owned())
            }
            None => GuardError::Syntax(text),
        }
    })
}

/// `n` with its thousands separated by commas (`1,000,000`): a count of
/// seven digits or more in a row would be masked in a dead letter as a
/// phone number would.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Marks our own errors among `serde_json`'s.
const LIMIT: &str = "limit: ";

/// Where a value stands, built on the stack as the pass descends.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn depth(&self) -> usize {
        match self {
            Path::Root => 0,
            Path::Key(parent, _) | Path::Index(parent, _) => parent.depth() + 1,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("the document"),
            Path::Key(Path::Root, key) => f.write_str(&mask_digit_runs(key)),
            Path::Key(parent, key) => write!(f, "{parent}.{}", mask_digit_runs(key)),
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

struct Node<'p, 'a> {
    at: &'p Path<'a>,
    max_contacts: usize,
}

impl<'p, 'a> Node<'p, 'a> {
    fn child(&self, at: &'p Path<'a>) -> Self {
        Node {
            at,
            max_contacts: self.max_contacts,
        }
    }

    /// Whether this is the document's `contacts` array.
    fn holds_contacts(&self) -> bool {
        matches!(self.at, Path::Key(Path::Root, "contacts"))
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        if self.at.depth() > MAX_DEPTH {
            return Err(D::Error::custom(format!(
                "{LIMIT}{} is nested deeper than {MAX_DEPTH} levels",
                self.at
            )));
        }
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!(
                    "{LIMIT}key `{}` appears twice in {}",
                    mask_digit_runs(&key),
                    self.at
                )));
            }
            map.next_value_seed(self.child(&Path::Key(self.at, &key)))?;
            seen.push(key);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(self.child(&Path::Index(self.at, index)))?
            .is_some()
        {
            index += 1;
        }
        if self.holds_contacts() && index > self.max_contacts {
            return Err(A::Error::custom(format!(
                "{LIMIT}the document holds {} contacts; at most {} are read from one \
                 document (intake.max_contacts_per_document): split it, as `sampark campaign \
                 submit` does",
                grouped(index),
                grouped(self.max_contacts)
            )));
        }
        Ok(())
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<(), E> {
        if text.len() > MAX_STRING_BYTES {
            return Err(E::custom(format!(
                "{LIMIT}{} is {} bytes long; at most {MAX_STRING_BYTES} are allowed",
                self.at,
                text.len()
            )));
        }
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(json: &str) -> String {
        match check_document(json) {
            Err(GuardError::Limit(why)) => why,
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn a_key_twice_is_refused_with_its_path() {
        assert_eq!(
            check_document(r#"{"a": [1, {"b": "c"}], "d": null}"#),
            Ok(())
        );
        assert_eq!(
            limit(r#"{"id": "a", "id": "b"}"#),
            "key `id` appears twice in the document"
        );
        assert_eq!(
            limit(r#"{"contacts": [{"phone": "1"}, {"phone": "2", "phone": "3"}]}"#),
            "key `phone` appears twice in contacts[1]"
        );
        assert_eq!(
            limit(r#"{"contacts": [{"9876543210": 1, "9876543210": 2}]}"#),
            "key `******3210` appears twice in contacts[0]"
        );
    }

    #[test]
    fn deep_nesting_and_long_strings_are_refused_with_their_path() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        assert!(limit(&deep).contains("nested deeper than 16 levels"));
        let long = format!(r#"{{"contacts": [{{"office": "{}"}}]}}"#, "x".repeat(5000));
        assert_eq!(
            limit(&long),
            "contacts[0].office is 5000 bytes long; at most 4096 are allowed"
        );
        assert!(
            matches!(check_document("{\"a\": }"), Err(GuardError::Syntax(why)) if why.contains("line 1"))
        );
    }

    #[test]
    fn more_contacts_than_allowed_are_refused_with_both_counts() {
        let contacts = |n: usize| {
            let list = vec![r#"{"id": "c"}"#; n].join(",");
            format!(r#"{{"id": "x", "contacts": [{list}], "other": [1, 2, 3, 4]}}"#)
        };
        assert_eq!(check_campaign_document(&contacts(3), 3), Ok(()));
        // Another array as long is not counted as contacts.
        assert_eq!(check_campaign_document(&contacts(2), 2), Ok(()));
        let Err(GuardError::Limit(why)) = check_campaign_document(&contacts(4), 3) else {
            panic!("4 contacts passed a limit of 3");
        };
        assert!(
            why.starts_with("the document holds 4 contacts; at most 3 are read from one document"),
            "{why}"
        );
        // Nested `contacts` keys are not the document's.
        let nested = r#"{"a": {"contacts": [1, 2, 3]}}"#;
        assert_eq!(check_campaign_document(nested, 1), Ok(()));
        assert_eq!(check_document(&contacts(10)), Ok(()));
        let Err(GuardError::Limit(why)) = check_campaign_document(&contacts(1_234), 1_000) else {
            panic!("1,234 contacts passed a limit of 1,000");
        };
        assert!(
            why.contains("holds 1,234 contacts; at most 1,000 are read"),
            "{why}"
        );
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(50_000), "50,000");
        assert_eq!(grouped(12_345_678), "12,345,678");
    }
}
