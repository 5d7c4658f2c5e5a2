//! Submitting campaign documents: large campaigns are split into chunks that
//! repeat the header, so no single Redis value holds a million contacts.
//!
//! A document in memory (the admin API, the demo) is chunked whole
//! (`chunk_document`). A file is streamed (`campaign submit`, see
//! `stream.rs`) in two passes of the same chunks, so memory stays flat
//! whatever the file's size and nothing is queued for a file that will be
//! refused:
//!
//! 1. `ContactCheck` checks the contacts a chunk at a time, exactly as
//!    ingestion parses each intake entry (so a contact id repeated with
//!    other data is found within a chunk; across chunks the daemon refuses
//!    the later contact at ingestion and counts it in the campaign's tally),
//!    reporting each invalid contact and unreadable row as found;
//! 2. `ChunkWriter` writes the chunk documents as they fill, each the
//!    header then at most `chunk_size` contacts, in file order.

use serde_json::{Map, Value};

use super::csv_text::CsvError;
use super::stream::StreamItem;
use crate::domain::{UnknownField, parse_campaign_document};
use crate::store::{Store, StoreError};

/// Contacts per intake entry that `campaign submit` (its default
/// `--chunk-size`) and the admin API write. `intake.max_contacts_per_document`
/// may not be set lower, so their entries always pass it.
pub const CHUNK_SIZE: usize = 5_000;

/// Why a document could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the document is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the document must be an object with a `contacts` array")]
    Shape,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Splits a document into documents of at most `chunk_size` contacts, each
/// carrying the same header. A document that already fits is returned as is.
pub fn chunk_document(doc: &str, chunk_size: usize) -> Result<Vec<String>, SubmitError> {
    let value: Value = serde_json::from_str(doc)?;
    let Value::Object(mut obj) = value else {
        return Err(SubmitError::Shape);
    };
    let Some(Value::Array(contacts)) = obj.remove("contacts") else {
        return Err(SubmitError::Shape);
    };
    if contacts.len() <= chunk_size.max(1) {
        return Ok(vec![doc.to_owned()]);
    }
    let mut writer = ChunkWriter::new(&obj, chunk_size);
    let mut parts: Vec<String> = contacts
        .into_iter()
        .filter_map(|c| writer.push(c))
        .map(|(part, _)| part)
        .collect();
    parts.extend(writer.finish().map(|(part, _)| part));
    Ok(parts)
}

/// Puts a document on the intake stream, chunked; returns the entry ids.
pub async fn submit_document(
    store: &dyn Store,
    doc: &str,
    chunk_size: usize,
) -> Result<Vec<String>, SubmitError> {
    let mut ids = Vec::new();
    for part in chunk_document(doc, chunk_size)? {
        ids.push(store.submit(&part).await?);
    }
    Ok(ids)
}

/// Writes chunk documents as contacts come: the header's fields, then
/// `contacts` with at most `chunk_size` of them.
pub struct ChunkWriter {
    /// `{"field":…,…,"contacts":[`
    prefix: String,
    chunk_size: usize,
    part: String,
    in_part: usize,
}

impl ChunkWriter {
    pub fn new(header: &Map<String, Value>, chunk_size: usize) -> Self {
        let mut prefix = String::from("{");
        for (key, value) in header.iter().filter(|(k, _)| *k != "contacts") {
            // INVARIANT: a string and a `Value` always serialise.
            prefix.push_str(&serde_json::to_string(key).unwrap_or_default());
            prefix.push(':');
            prefix.push_str(&value.to_string());
            prefix.push(',');
        }
        prefix.push_str("\"contacts\":[");
        ChunkWriter {
            part: prefix.clone(),
            prefix,
            chunk_size: chunk_size.max(1),
            in_part: 0,
        }
    }

    /// Adds a contact; returns a full chunk and its number of contacts.
    pub fn push(&mut self, contact: Value) -> Option<(String, usize)> {
        if self.in_part > 0 {
            self.part.push(',');
        }
        self.part.push_str(&contact.to_string());
        self.in_part += 1;
        (self.in_part == self.chunk_size).then(|| self.take())
    }

    /// The last chunk, if it has any contact.
    pub fn finish(mut self) -> Option<(String, usize)> {
        (self.in_part > 0).then(|| self.take())
    }

    fn take(&mut self) -> (String, usize) {
        let mut part = std::mem::replace(&mut self.part, self.prefix.clone());
        part.push_str("]}");
        (part, std::mem::take(&mut self.in_part))
    }
}

/// What is wrong with one contact or row, reported as it is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// An invalid contact (submitted for the daemon to dead-letter).
    Rejected {
        /// Its position among the document's contacts.
        index: usize,
        /// The line its CSV row starts on.
        line: Option<usize>,
        id: Option<String>,
        reason: String,
    },
    /// A CSV row that could not be read as a contact (left out).
    BadRow(CsvError),
}

/// What the contacts of a streamed document hold, summed over its chunks.
#[derive(Clone, Debug, Default)]
pub struct ContactSummary {
    /// Contacts read (valid or not, CSV rows that could not be read aside).
    pub contacts: usize,
    /// Valid contacts (a contact repeated with the same data in a chunk
    /// counts once, as ingestion takes it once).
    pub valid: usize,
    pub rejected: usize,
    pub bad_rows: usize,
    /// Unknown contact fields, one entry per key (the first five contacts
    /// that carry it named).
    pub warnings: Vec<UnknownField>,
    /// The chunk documents the contacts make.
    pub chunks: usize,
}

/// A header that passes the parser, so a chunk's contacts can be checked
/// before the document's own header is known (it may follow the contacts).
/// The contact checks do not depend on the header.
const CHECK_HEADER: &str = r#"{"version":1,"id":"check","name":"check","dialplan":"check","caller_id":"+916742000000","department":"check","contacts":["#;

/// Pass 1 of a streamed submission: checks contacts a chunk at a time.
pub struct ContactCheck<'a> {
    chunk_size: usize,
    pending: Vec<Value>,
    lines: Vec<Option<usize>>,
    bad_rows: Vec<CsvError>,
    summary: ContactSummary,
    report: &'a mut dyn FnMut(Finding),
}

impl<'a> ContactCheck<'a> {
    /// `report` is called with every finding, in file order.
    pub fn new(chunk_size: usize, report: &'a mut dyn FnMut(Finding)) -> Self {
        ContactCheck {
            chunk_size: chunk_size.max(1),
            pending: Vec::new(),
            lines: Vec::new(),
            bad_rows: Vec::new(),
            summary: ContactSummary::default(),
            report,
        }
    }

    /// Takes the next item read.
    pub fn push(&mut self, item: StreamItem) {
        match item {
            StreamItem::Contact { value, line } => {
                self.pending.push(value);
                self.lines.push(line);
                if self.pending.len() == self.chunk_size {
                    self.check_chunk();
                }
            }
            StreamItem::BadRow(bad) => self.bad_rows.push(bad),
        }
    }

    /// What was found, once every item was pushed.
    pub fn finish(mut self) -> ContactSummary {
        self.check_chunk();
        self.summary
    }

    /// Contacts read so far.
    pub fn read(&self) -> usize {
        self.summary.contacts + self.pending.len()
    }

    fn check_chunk(&mut self) {
        let first = self.summary.contacts;
        let contacts = std::mem::take(&mut self.pending);
        let lines = std::mem::take(&mut self.lines);
        let mut found: Vec<Finding> = std::mem::take(&mut self.bad_rows)
            .into_iter()
            .map(Finding::BadRow)
            .collect();
        self.summary.bad_rows += found.len();
        if !contacts.is_empty() {
            self.summary.contacts += contacts.len();
            self.summary.chunks += 1;
            let mut doc = String::from(CHECK_HEADER);
            for (i, c) in contacts.iter().enumerate() {
                if i > 0 {
                    doc.push(',');
                }
                doc.push_str(&c.to_string());
            }
            doc.push_str("]}");
            drop(contacts);
            // INVARIANT: the check header is valid, so the chunk parses.
            if let Ok(parsed) = parse_campaign_document(&doc, &|_| true) {
                self.summary.valid += parsed.contacts.len();
                self.summary.rejected += parsed.rejected.len();
                found.extend(parsed.rejected.into_iter().map(|r| Finding::Rejected {
                    index: first + r.index,
                    line: lines.get(r.index).copied().flatten(),
                    id: r.id,
                    reason: r.reason,
                }));
                for w in parsed.warnings {
                    self.note_warning(w, first);
                }
            }
        }
        // Rows and contacts of a chunk are reported in file order.
        found.sort_by_key(|f| match f {
            Finding::BadRow(e) => e.line,
            Finding::Rejected { line, index, .. } => line.unwrap_or(*index),
        });
        for f in found {
            (self.report)(f);
        }
    }

    /// Adds a chunk's unknown field (contact positions from `first`).
    fn note_warning(&mut self, mut w: UnknownField, first: usize) {
        for c in &mut w.contacts {
            c.index += first;
        }
        match self
            .summary
            .warnings
            .iter_mut()
            .find(|known| known.level == w.level && known.field == w.field)
        {
            Some(known) => {
                known.count += w.count;
                let room = 5usize.saturating_sub(known.contacts.len());
                known.contacts.extend(w.contacts.into_iter().take(room));
            }
            None => self.summary.warnings.push(w),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chunks_repeat_the_header() {
        let doc = r#"{"version":1,"id":"c","contacts":[{"id":"1"},{"id":"2"},{"id":"3"}]}"#;
        let parts = chunk_document(doc, 2).unwrap();
        assert_eq!(parts.len(), 2);
        let second: Value = serde_json::from_str(&parts[1]).unwrap();
        assert_eq!(second["id"], "c");
        assert_eq!(second["version"], 1);
        assert_eq!(second["contacts"], json!([{"id": "3"}]));
        assert_eq!(chunk_document(doc, 10).unwrap(), vec![doc.to_owned()]);
        assert!(matches!(chunk_document("[]", 2), Err(SubmitError::Shape)));
    }

    fn contact(id: &str, phone: &str) -> Value {
        json!({"id": id, "phone": phone, "official_id": "o", "office": "x", "service": "y"})
    }

    #[test]
    fn contacts_are_checked_per_chunk_as_ingestion_parses_them() {
        let mut found = Vec::new();
        let mut report = |f: Finding| found.push(f);
        let mut check = ContactCheck::new(2, &mut report);
        let items = [
            contact("a", "9876500001"),
            contact("a", "9876500001"), // the same contact again: taken once
            contact("b", "12345"),      // invalid
            json!({"id": "c", "phone": "9876500003", "official_id": "o", "office": "x",
                   "service": "y", "offical": "typo"}),
            contact("c", "9876500009"), // c again with other data, in another chunk
        ];
        for value in items {
            check.push(StreamItem::Contact { value, line: None });
        }
        let summary = check.finish();
        assert_eq!(
            (
                summary.contacts,
                summary.valid,
                summary.rejected,
                summary.chunks
            ),
            (5, 3, 1, 3)
        );
        assert_eq!(found.len(), 1);
        let Finding::Rejected { index, id, .. } = &found[0] else {
            panic!("{found:?}");
        };
        assert_eq!((*index, id.as_deref()), (2, Some("b")));
        assert_eq!(summary.warnings.len(), 1);
        assert_eq!(summary.warnings[0].contacts[0].index, 3);
        assert_eq!(summary.warnings[0].field, "offical");
    }

    #[test]
    fn rows_and_contacts_of_a_chunk_are_reported_by_line() {
        let mut lines = Vec::new();
        let mut report = |f: Finding| {
            lines.push(match f {
                Finding::BadRow(e) => e.line,
                Finding::Rejected { line, .. } => line.unwrap(),
            })
        };
        let mut check = ContactCheck::new(10, &mut report);
        check.push(StreamItem::BadRow(CsvError::new(3, "bad")));
        check.push(StreamItem::Contact {
            value: contact("b", "1"),
            line: Some(2),
        });
        check.push(StreamItem::Contact {
            value: contact("c", "1"),
            line: Some(4),
        });
        let summary = check.finish();
        assert_eq!((summary.bad_rows, summary.rejected), (1, 2));
        assert_eq!(lines, [2, 3, 4]);
    }
}
