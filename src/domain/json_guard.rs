//! A pass over a campaign document before it is read, for what `serde_json`
//! lets through: a key written twice in one object (the later value would
//! silently win), nesting deeper than any document needs, and strings longer
//! than any field needs. Each refusal names the JSON path (`contacts[3].office`).
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

/// Why a document was refused before it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    /// Not JSON: the parser's words, with line and column.
    Syntax(String),
    /// JSON, but over a limit: where and why.
    Limit(String),
}

/// Checks `json` against the limits above.
pub fn check_document(json: &str) -> Result<(), GuardError> {
    let mut de = serde_json::Deserializer::from_str(json);
    let checked = Node { at: &Path::Root }
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
            map.next_value_seed(Node {
                at: &Path::Key(self.at, &key),
            })?;
            seen.push(key);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(Node {
                at: &Path::Index(self.at, index),
            })?
            .is_some()
        {
            index += 1;
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
}
