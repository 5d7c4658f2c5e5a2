//! A campaign document read as a stream, for `campaign submit`: the fields
//! other than `contacts` are kept (they are small), the contacts are handed
//! over one at a time in file order, so a file of any size is read in
//! constant memory.
//!
//! - JSON: one object; `contacts` is read element by element (a serde seed
//!   over the array), wherever it stands among the other keys.
//! - CSV: the contacts of a CSV file, row by row (`csv.rs`), under the
//!   campaign fields of the `--header` JSON, already read.
//!
//! Owns: reading the input. Does not own: checking what was read
//! (`submit.rs`, `check.rs`) or what is done about it (`cli/submit.rs`).

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::csv::ContactRows;
use super::csv_text::CsvError;
use super::utf8_chars::Utf8Chars;
use crate::domain::DefaultCountry;

/// Where the document comes from.
#[derive(Clone, Debug)]
pub enum StreamInput {
    /// A JSON campaign document.
    Json(PathBuf),
    /// CSV contacts under the campaign fields of a `--header` file.
    Csv {
        path: PathBuf,
        header: Map<String, Value>,
        country: DefaultCountry,
    },
}

impl StreamInput {
    /// The file holding the contacts.
    pub fn path(&self) -> &Path {
        match self {
            StreamInput::Json(path) | StreamInput::Csv { path, .. } => path,
        }
    }
}

/// One thing read from the contacts, in file order.
#[derive(Debug)]
pub enum StreamItem {
    /// A contact as written (for CSV: a contact object, its phone normalised
    /// when it could be), with the line its CSV row starts on.
    Contact { value: Value, line: Option<usize> },
    /// A CSV row that could not be read as a contact.
    BadRow(CsvError),
}

/// How the document's `contacts` field was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactsField {
    Array,
    Missing,
    /// Present, but not an array (the document is then refused).
    NotArray,
}

/// The document's fields other than `contacts`.
#[derive(Clone, Debug)]
pub struct StreamedFields {
    pub header: Map<String, Value>,
    pub contacts: ContactsField,
}

/// Why the input could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Not a JSON object as a campaign document is (the parser's words).
    #[error("not valid JSON: {0}")]
    Json(String),
    /// Cannot be read at all: every line to print.
    #[error("{}", .0.join("; "))]
    Unreadable(Vec<String>),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The receiver of the contacts asked to stop.
    #[error("stopped")]
    Stopped,
}

/// Checks that the input is UTF-8, reading it once. `Err`: every line to
/// print about why it is not (CSV: one per line holding such bytes).
pub fn check_encoding(input: &StreamInput) -> Result<(), StreamError> {
    let path = input.path();
    let shown = path.display();
    let file = open(path)?;
    let is_csv = matches!(input, StreamInput::Csv { .. });
    let mut chars = match Utf8Chars::new(file) {
        Ok(chars) => chars,
        Err(e) if is_csv => {
            return Err(StreamError::Unreadable(vec![format!(
                "{shown}:{}: {}",
                e.line, e.message
            )]));
        }
        Err(_) => return Err(not_utf8_json(path, 1)),
    };
    chars.by_ref().for_each(drop);
    let first_bad = chars.first_bad_byte();
    let problems = chars.finish().map_err(|source| StreamError::Io {
        path: shown.to_string(),
        source,
    })?;
    match (first_bad, is_csv) {
        (None, _) => Ok(()),
        (Some(_), true) => Err(StreamError::Unreadable(
            problems
                .iter()
                .map(|e| format!("{shown}:{}: {}", e.line, e.message))
                .collect(),
        )),
        (Some(byte), false) => Err(not_utf8_json(path, byte)),
    }
}

fn not_utf8_json(path: &Path, byte: usize) -> StreamError {
    StreamError::Unreadable(vec![format!(
        "{}: the document is not UTF-8 (byte {byte} is not): save it as UTF-8",
        path.display()
    )])
}

fn open(path: &Path) -> Result<File, StreamError> {
    File::open(path).map_err(|source| StreamError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads the input to its end, handing every contact (and unreadable CSV
/// row) to `each` in file order; `each` returns false to stop the reading
/// (`StreamError::Stopped`). Returns the other fields.
pub fn read_stream(
    input: &StreamInput,
    each: &mut dyn FnMut(StreamItem) -> bool,
) -> Result<StreamedFields, StreamError> {
    match input {
        StreamInput::Json(path) => read_json(path, each),
        StreamInput::Csv {
            path,
            header,
            country,
        } => {
            read_csv(path, *country, each)?;
            Ok(StreamedFields {
                header: header.clone(),
                contacts: ContactsField::Array,
            })
        }
    }
}

fn read_csv(
    path: &Path,
    country: DefaultCountry,
    each: &mut dyn FnMut(StreamItem) -> bool,
) -> Result<(), StreamError> {
    let shown = path.display();
    let located = |e: CsvError| format!("{shown}:{}: {}", e.line, e.message);
    let mut chars =
        Utf8Chars::new(open(path)?).map_err(|e| StreamError::Unreadable(vec![located(e)]))?;
    {
        let rows = ContactRows::new(chars.by_ref(), country)
            .map_err(|errors| StreamError::Unreadable(errors.into_iter().map(located).collect()))?;
        for row in rows {
            let item = match row {
                Ok((line, value)) => StreamItem::Contact {
                    value,
                    line: Some(line),
                },
                Err(bad) => StreamItem::BadRow(bad),
            };
            if !each(item) {
                return Err(StreamError::Stopped);
            }
        }
    }
    chars.finish().map_err(|source| StreamError::Io {
        path: shown.to_string(),
        source,
    })?;
    Ok(())
}

fn read_json(
    path: &Path,
    each: &mut dyn FnMut(StreamItem) -> bool,
) -> Result<StreamedFields, StreamError> {
    let reader = BufReader::with_capacity(64 * 1024, open(path)?);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut stopped = false;
    let fields = DocumentSeed {
        each,
        stopped: &mut stopped,
    }
    .deserialize(&mut de)
    .and_then(|fields| de.end().map(|()| fields));
    match fields {
        Ok(fields) => Ok(fields),
        Err(_) if stopped => Err(StreamError::Stopped),
        Err(e) if e.is_io() => Err(StreamError::Io {
            path: path.display().to_string(),
            source: e.into(),
        }),
        Err(e) => Err(StreamError::Json(e.to_string())),
    }
}

/// The whole document: an object, `contacts` streamed, the rest kept.
struct DocumentSeed<'a, 'b> {
    each: &'a mut dyn FnMut(StreamItem) -> bool,
    stopped: &'b mut bool,
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = StreamedFields;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<StreamedFields, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = StreamedFields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (the campaign document)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StreamedFields, A::Error> {
        let mut fields = StreamedFields {
            header: Map::new(),
            contacts: ContactsField::Missing,
        };
        while let Some(key) = map.next_key::<String>()? {
            if key != "contacts" {
                let value: Value = map.next_value()?;
                fields.header.insert(key, value);
                continue;
            }
            if fields.contacts != ContactsField::Missing {
                return Err(serde::de::Error::custom(
                    "field `contacts` appears twice in the document",
                ));
            }
            fields.contacts = map.next_value_seed(ContactsSeed {
                each: &mut *self.each,
                stopped: &mut *self.stopped,
            })?;
        }
        Ok(fields)
    }
}

/// The `contacts` value: each element of an array handed over as read.
struct ContactsSeed<'a, 'b> {
    each: &'a mut dyn FnMut(StreamItem) -> bool,
    stopped: &'b mut bool,
}

impl<'de> DeserializeSeed<'de> for ContactsSeed<'_, '_> {
    type Value = ContactsField;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<ContactsField, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ContactsSeed<'_, '_> {
    type Value = ContactsField;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of contacts")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContactsField, A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            if !(self.each)(StreamItem::Contact { value, line: None }) {
                *self.stopped = true;
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(ContactsField::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContactsField, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ContactsField::NotArray)
    }

    fn visit_bool<E>(self, _: bool) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }

    fn visit_i64<E>(self, _: i64) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }

    fn visit_u64<E>(self, _: u64) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }

    fn visit_f64<E>(self, _: f64) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }

    fn visit_str<E>(self, _: &str) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }

    fn visit_unit<E>(self) -> Result<ContactsField, E> {
        Ok(ContactsField::NotArray)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &StreamInput) -> (Result<StreamedFields, StreamError>, Vec<StreamItem>) {
        let mut items = Vec::new();
        let fields = read_stream(input, &mut |item| {
            items.push(item);
            true
        });
        (fields, items)
    }

    #[test]
    fn json_contacts_are_streamed_wherever_they_stand() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"{"contacts": [{"id": "a"}, 7], "id": "late", "version": 1}"#,
        )
        .unwrap();
        let (fields, items) = read_all(&StreamInput::Json(path.clone()));
        let fields = fields.unwrap();
        assert_eq!(fields.contacts, ContactsField::Array);
        assert_eq!(fields.header["id"], "late");
        assert!(!fields.header.contains_key("contacts"));
        assert_eq!(items.len(), 2);
        std::fs::write(&path, r#"{"id": "x", "contacts": "none"}"#).unwrap();
        assert_eq!(
            read_all(&StreamInput::Json(path.clone()))
                .0
                .unwrap()
                .contacts,
            ContactsField::NotArray
        );
        std::fs::write(&path, r#"{"id": "x", "contacts": [{"id": 1}, "#).unwrap();
        let (fields, items) = read_all(&StreamInput::Json(path.clone()));
        assert!(matches!(fields, Err(StreamError::Json(_))), "{fields:?}");
        assert_eq!(items.len(), 1, "what came before the error was read");
        std::fs::write(&path, b"{\"id\": \"caf\xE9\"}").unwrap();
        let Err(StreamError::Unreadable(lines)) = check_encoding(&StreamInput::Json(path.clone()))
        else {
            panic!("not refused");
        };
        assert!(lines[0].ends_with("the document is not UTF-8 (byte 12 is not): save it as UTF-8"));
        // The receiver can stop the reading.
        std::fs::write(&path, r#"{"contacts": [1, 2, 3]}"#).unwrap();
        let mut seen = 0;
        let stopped = read_stream(&StreamInput::Json(path), &mut |_| {
            seen += 1;
            seen < 2
        });
        assert!(matches!(stopped, Err(StreamError::Stopped)));
        assert_eq!(seen, 2);
    }
}
