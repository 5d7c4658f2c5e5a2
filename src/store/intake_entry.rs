//! What an intake stream entry must hold before its document is read: one
//! `campaign` field, UTF-8, no other field, no larger than
//! `intake.max_document_bytes`, and not already taken
//! `intake.max_deliveries` times without being finished. An entry that
//! fails one of these reaches the router as a [`RefusedEntry`]: the reason
//! and a bounded excerpt, which the router dead-letters (masked) before
//! acknowledging the entry, so nothing is re-taken forever and nothing is
//! deleted without a trace.
//!
//! Owns: the checks and the words of their reasons, the excerpt. Does not
//! own: reading the stream without loading an oversized entry (the Redis
//! backend's `intake_read.lua`), or the dead letter itself (`intake/router.rs`).
//! The in-memory store (the demo) holds only documents given to its
//! `submit`, so it has nothing to check.

use crate::domain::mask_digit_runs;

/// The one field an intake entry holds: the document.
pub const DOCUMENT_FIELD: &str = "campaign";

/// Bytes of each field name and value kept in a refused entry's excerpt.
pub const EXCERPT_BYTES: usize = 1024;

/// Fields of a refused entry shown in its excerpt.
pub const EXCERPT_FIELDS: usize = 4;

/// One document read from the intake stream.
#[derive(Clone, Debug)]
pub struct IntakeEntry {
    /// The stream entry id, used to acknowledge it.
    pub id: String,
    /// The document text, or why the entry cannot be ingested.
    pub payload: Result<String, RefusedEntry>,
}

impl IntakeEntry {
    /// An entry holding `document` in its `campaign` field.
    pub fn document(id: String, document: String) -> Self {
        IntakeEntry {
            id,
            payload: Ok(document),
        }
    }
}

/// The limits on intake entries (`[intake]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntakeLimits {
    /// The largest entry read (its field names and values, in bytes).
    pub max_document_bytes: u64,
    /// How many times an entry may be taken without being finished before
    /// it is dead-lettered instead.
    pub max_deliveries: u32,
}

impl Default for IntakeLimits {
    /// The documented defaults of `[intake]`.
    fn default() -> Self {
        IntakeLimits {
            max_document_bytes: 64 * 1024 * 1024,
            max_deliveries: 3,
        }
    }
}

/// An entry that is not ingested, with what it held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusedEntry {
    pub reason: String,
    /// The entry's size: field names and values, in bytes.
    pub bytes: u64,
    pub field_count: u64,
    /// The first fields, each name and value cut to [`EXCERPT_BYTES`]
    /// (decoded lossily; a cut text ends with `…`). Unmasked: see
    /// [`RefusedEntry::masked_payload`].
    pub excerpt: Vec<(String, String)>,
}

impl RefusedEntry {
    /// The dead letter's payload: JSON with the entry's size, its field
    /// count and the excerpt, every run of digits that may be a phone
    /// number masked.
    pub fn masked_payload(&self) -> String {
        let fields: Vec<_> = self
            .excerpt
            .iter()
            .map(|(name, value)| {
                serde_json::json!({
                    "field": mask_digit_runs(name),
                    "excerpt": mask_digit_runs(value),
                })
            })
            .collect();
        serde_json::json!({
            // As text in KiB/MiB: a byte count is a digit run that every
            // dead letter's masking would take for a phone number.
            "entry_size": shown_size(self.bytes),
            "entry_fields": self.field_count,
            "fields": fields,
        })
        .to_string()
    }
}

/// An entry as the stream gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawEntry {
    pub id: String,
    /// The reader did not load it whole: its fields are cut to
    /// [`EXCERPT_BYTES`], and only the first [`EXCERPT_FIELDS`] are here.
    pub cut: bool,
    /// How many times it has been taken, this time included.
    pub deliveries: u64,
    /// Its size: field names and values, in bytes.
    pub bytes: u64,
    pub field_count: u64,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Checks an entry as read against `limits` and what an entry must hold.
pub fn check_entry(raw: RawEntry, limits: &IntakeLimits) -> IntakeEntry {
    let reason = if raw.bytes > limits.max_document_bytes {
        Some(format!(
            "intake entry is {}, more than intake.max_document_bytes ({}): not read; the dead letter holds an excerpt",
            shown_size(raw.bytes),
            shown_size(limits.max_document_bytes)
        ))
    } else if raw.deliveries > u64::from(limits.max_deliveries) {
        Some(format!(
            "intake entry was taken {} times without being finished (intake.max_deliveries is {}): each try failed or stopped the daemon, so it is dead-lettered instead of taken again",
            raw.deliveries, limits.max_deliveries
        ))
    } else if raw.cut {
        // The reader cut it for a limit of its own reading; say so.
        Some(format!(
            "intake entry was not read whole ({}, taken {} times)",
            shown_size(raw.bytes),
            raw.deliveries
        ))
    } else {
        None
    };
    let size = (raw.bytes, raw.field_count);
    let payload = match reason.or_else(|| shape_problem(&raw)) {
        Some(reason) => Err(refused(&raw.fields, size, reason)),
        None => document(raw.fields, size),
    };
    IntakeEntry {
        id: raw.id,
        payload,
    }
}

/// Why a whole entry's fields are not one `campaign` field, if they are not.
fn shape_problem(raw: &RawEntry) -> Option<String> {
    let names: Vec<String> = raw
        .fields
        .iter()
        .map(|(name, _)| String::from_utf8_lossy(name).into_owned())
        .collect();
    let documents = names.iter().filter(|n| *n == DOCUMENT_FIELD).count();
    let unknown = names.iter().find(|n| *n != DOCUMENT_FIELD);
    match (documents, unknown) {
        (1, None) => None,
        (0, _) => Some(format!(
            "intake entry has no `{DOCUMENT_FIELD}` field (its fields: {}); the document goes in `{DOCUMENT_FIELD}`",
            quoted(&names)
        )),
        (1, Some(unknown)) => Some(format!(
            "intake entry has an unknown field `{}`; an entry holds only `{DOCUMENT_FIELD}`",
            mask_digit_runs(&cut(unknown.as_bytes()))
        )),
        (many, _) => Some(format!(
            "intake entry has {many} `{DOCUMENT_FIELD}` fields; an entry holds one document, so none is ingested (each is in the dead letter)"
        )),
    }
}

/// The text of an entry's one field (`shape_problem` found none), moved
/// out without a copy, or why it is not text.
fn document(mut fields: Vec<(Vec<u8>, Vec<u8>)>, size: (u64, u64)) -> Result<String, RefusedEntry> {
    let (name, value) = fields.pop().unwrap_or_default();
    String::from_utf8(value).map_err(|e| {
        let reason = format!(
            "field `{DOCUMENT_FIELD}` of the intake entry is not UTF-8 (byte {} is not): the document must be UTF-8 JSON",
            e.utf8_error().valid_up_to() + 1
        );
        refused(&[(name, e.into_bytes())], size, reason)
    })
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let shown: Vec<String> = names
        .iter()
        .take(EXCERPT_FIELDS)
        .map(|n| format!("`{}`", mask_digit_runs(&cut(n.as_bytes()))))
        .collect();
    let more = names.len().saturating_sub(EXCERPT_FIELDS);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// `size`: the entry's bytes and field count.
fn refused(fields: &[(Vec<u8>, Vec<u8>)], size: (u64, u64), reason: String) -> RefusedEntry {
    RefusedEntry {
        reason,
        bytes: size.0,
        field_count: size.1,
        excerpt: fields
            .iter()
            .take(EXCERPT_FIELDS)
            .map(|(name, value)| (cut(name), cut(value)))
            .collect(),
    }
}

/// A size as a dead letter's reason shows it: in KiB or MiB, so that it is
/// never a run of digits long enough to be masked as a phone number would
/// be (`domain::mask_digit_runs`, applied to every dead letter).
fn shown_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// `bytes` decoded lossily and cut to [`EXCERPT_BYTES`] (marked `…`).
/// A text the reader already cut is exactly that long, so marked too.
fn cut(bytes: &[u8]) -> String {
    if bytes.len() < EXCERPT_BYTES {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut text = String::from_utf8_lossy(&bytes[..EXCERPT_BYTES]).into_owned();
    text.push('…');
    text
}

#[cfg(test)]
#[path = "intake_entry_tests.rs"]
mod tests;
