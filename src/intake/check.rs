//! The checks a submission (`campaign submit`, `POST /admin/campaigns`) makes
//! before anything is queued, so that what it reports is what the daemon
//! will do: a document the daemon would refuse whole is refused here, with
//! every reason at once.
//!
//! | refusal | when | CLI exit | HTTP |
//! |---|---|---|---|
//! | `invalid_document` | not JSON, a header field invalid, a holiday file unreadable | 2 | 422 |
//! | `unknown_dialplan` | `dialplan` names no dialplan the daemon has | 3 | 422 |
//! | `no_valid_contact` | no contact at all, or every contact invalid | 4 | 422 |
//! | `header_conflict` | the campaign exists with another header (fields named) | 5 | 409 |
//! | `strict` | `--strict` / `?strict=true` and an invalid contact, row or unknown field | 2 | 422 |
//!
//! When several apply, all are reported and the exit code and HTTP status
//! are those of the first in this order. What only ingestion can know (a
//! header stored by another submission in between, a contact id stored with
//! other data) is still refused by the daemon, dead-lettered with its reason
//! and counted in the campaign's intake tally (`campaign status`).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

use super::stream::ContactsField;
use super::submit::ContactSummary;
use crate::domain::{
    CampaignHeader, CampaignId, DocumentError, HeaderDifference, ParsedDocument, UnknownField,
    parse_campaign_document,
};
use crate::store::{Store, StoreError};

/// Why a submission is refused, in the order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    InvalidDocument,
    UnknownDialplan,
    NoValidContact,
    HeaderConflict,
    Strict,
}

impl RefusalKind {
    /// The exit code of `campaign submit`.
    pub fn exit_code(self) -> u8 {
        match self {
            RefusalKind::InvalidDocument | RefusalKind::Strict => 2,
            RefusalKind::UnknownDialplan => 3,
            RefusalKind::NoValidContact => 4,
            RefusalKind::HeaderConflict => 5,
        }
    }

    /// The HTTP status of `POST /admin/campaigns`.
    pub fn http_status(self) -> u16 {
        match self {
            RefusalKind::HeaderConflict => 409,
            _ => 422,
        }
    }
}

/// One reason a submission is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    #[serde(rename = "code")]
    pub kind: RefusalKind,
    /// In words; never a phone number.
    pub message: String,
    /// For a header conflict: every field that differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<HeaderDifference>,
}

impl Refusal {
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Refusal {
            kind,
            message: message.into(),
            differences: Vec::new(),
        }
    }
}

/// The kind that decides the exit code and HTTP status of `refusals`.
pub fn deciding(refusals: &[Refusal]) -> Option<RefusalKind> {
    refusals.iter().map(|r| r.kind).min()
}

/// The dialplans a document's `dialplan` may name, and where they are (for
/// the reason given when it names another).
#[derive(Clone, Debug)]
pub struct KnownDialplans {
    pub names: BTreeSet<String>,
    /// Completes "no dialplan named X …": `is loaded by this daemon`,
    /// `in dialplans/`.
    pub place: String,
}

/// A document after the checks that need no store.
#[derive(Debug)]
pub struct Checked {
    /// The parsed document, when its header is valid.
    pub parsed: Option<ParsedDocument>,
    pub refusals: Vec<Refusal>,
}

/// Parses `doc` and checks everything that needs no store: the header, the
/// dialplan (when `dialplans` is known), and that some contact is valid.
pub fn check_document(doc: &str, dialplans: Option<&KnownDialplans>) -> Checked {
    // The dialplan is checked here rather than by the parser, so a document
    // with an unknown dialplan is still parsed and every other reason found.
    let (parsed, mut refusals, dialplan) = match parse_campaign_document(doc, &|_| true) {
        Ok(parsed) => {
            let dialplan = Some(parsed.header.dialplan.clone());
            (Some(parsed), Vec::new(), dialplan)
        }
        Err(e) => {
            let problems = match e {
                DocumentError::Invalid(found) => found,
                e @ DocumentError::Json(_) => vec![e.to_string()],
            };
            let refusals = problems
                .into_iter()
                .map(|p| Refusal::new(RefusalKind::InvalidDocument, p))
                .collect();
            (None, refusals, raw_dialplan(doc))
        }
    };
    if let (Some(known), Some(name)) = (dialplans, dialplan)
        && !known.names.contains(&name)
    {
        let list: Vec<&str> = known.names.iter().map(String::as_str).collect();
        refusals.push(Refusal::new(
            RefusalKind::UnknownDialplan,
            format!(
                "field `dialplan`: no dialplan named {name:?} {} (known: {})",
                known.place,
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            ),
        ));
    }
    if let Some(parsed) = &parsed {
        refusals.extend(no_valid_contact(
            parsed.contacts.len(),
            parsed.rejected.len(),
        ));
    }
    Checked { parsed, refusals }
}

/// The checks of `check_document` for a streamed document (`stream.rs`):
/// `header` holds its fields other than `contacts`, `contacts` says how
/// that field was written, `summary` what its contacts hold (`submit.rs`'s
/// `ContactCheck`). Returns the parsed header when it is valid, the
/// campaign's unknown fields, and every refusal.
pub fn check_streamed(
    header: &Map<String, Value>,
    contacts: ContactsField,
    summary: &ContactSummary,
    dialplans: Option<&KnownDialplans>,
) -> StreamChecked {
    let mut doc = header.clone();
    match contacts {
        ContactsField::Array => {
            doc.insert("contacts".into(), Value::Array(Vec::new()));
        }
        // Not an array: the parser says so.
        ContactsField::NotArray => {
            doc.insert("contacts".into(), Value::Bool(false));
        }
        ContactsField::Missing => {}
    }
    let checked = check_document(&Value::Object(doc).to_string(), dialplans);
    let mut refusals: Vec<Refusal> = checked
        .refusals
        .into_iter()
        .filter(|r| r.kind != RefusalKind::NoValidContact)
        .collect();
    if let Some(refusal) = no_valid_contact(summary.valid, summary.rejected)
        && checked.parsed.is_some()
    {
        refusals.push(refusal);
    }
    let (header, warnings) = match checked.parsed {
        Some(parsed) => (Some(parsed.header), parsed.warnings),
        None => (None, Vec::new()),
    };
    StreamChecked {
        header,
        warnings,
        refusals,
    }
}

/// What `check_streamed` found.
#[derive(Debug)]
pub struct StreamChecked {
    pub header: Option<CampaignHeader>,
    /// Unknown campaign fields (the contacts' are in the summary).
    pub warnings: Vec<UnknownField>,
    pub refusals: Vec<Refusal>,
}

/// The refusal of a document with `valid` valid and `rejected` invalid
/// contacts, if it has no valid one.
fn no_valid_contact(valid: usize, rejected: usize) -> Option<Refusal> {
    if valid > 0 {
        return None;
    }
    let message = if rejected == 0 {
        "no valid contact: the document has no contacts".to_owned()
    } else {
        format!(
            "no valid contact: all {rejected} contact(s) are invalid (each is listed with its reason)"
        )
    };
    Some(Refusal::new(RefusalKind::NoValidContact, message))
}

/// The `dialplan` of a document whose header did not parse, if it has one.
fn raw_dialplan(doc: &str) -> Option<String> {
    let value: Value = serde_json::from_str(doc).ok()?;
    let name = value.get("dialplan")?.as_str()?.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// A refusal when campaign `header.id` is stored with another header.
pub async fn check_stored_header(
    store: &dyn Store,
    header: &CampaignHeader,
) -> Result<Option<Refusal>, StoreError> {
    let Some(stored) = store.campaign_header(&header.id).await? else {
        return Ok(None);
    };
    if stored == *header {
        return Ok(None);
    }
    let differences = stored.differences(header);
    Ok(Some(Refusal {
        kind: RefusalKind::HeaderConflict,
        message: conflict_reason(&header.id, &differences),
        differences,
    }))
}

/// Why a document is refused when its campaign exists with another header,
/// naming each differing field (as the daemon's dead letter says it too).
pub fn conflict_reason(id: &CampaignId, differences: &[HeaderDifference]) -> String {
    let fields = if differences.is_empty() {
        "the stored header was written differently (by another version?)".to_owned()
    } else {
        differences
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "campaign {id} already exists with a different header: {fields}. A campaign's header \
         never changes: submit its contacts with the stored values, or use a new campaign id"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    fn known() -> KnownDialplans {
        KnownDialplans {
            names: ["mo-sarkar-feedback".to_owned()].into(),
            place: "in dialplans/".into(),
        }
    }

    fn doc(dialplan: &str, name: &str, contacts: &str) -> String {
        format!(
            r#"{{"version": 1, "id": "chk", "name": "{name}", "dialplan": "{dialplan}",
                "caller_id": "+916742000000", "department": "home", "contacts": [{contacts}]}}"#
        )
    }

    const GOOD: &str =
        r#"{"id": "a", "phone": "9876500001", "official_id": "o", "office": "x", "service": "y"}"#;
    const BAD: &str =
        r#"{"id": "b", "phone": "12345", "official_id": "o", "office": "x", "service": "y"}"#;

    #[test]
    fn a_good_document_passes_and_an_invalid_contact_alone_does_not_refuse() {
        let checked = check_document(
            &doc("mo-sarkar-feedback", "n", &format!("{GOOD},{BAD}")),
            Some(&known()),
        );
        assert!(checked.refusals.is_empty(), "{:?}", checked.refusals);
        assert_eq!(checked.parsed.unwrap().rejected.len(), 1);
    }

    #[test]
    fn every_reason_is_found_at_once_and_the_first_decides() {
        let checked = check_document(&doc("nope", "n", BAD), Some(&known()));
        let kinds: Vec<_> = checked.refusals.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [RefusalKind::UnknownDialplan, RefusalKind::NoValidContact]
        );
        assert_eq!(
            checked.refusals[0].message,
            "field `dialplan`: no dialplan named \"nope\" in dialplans/ (known: mo-sarkar-feedback)"
        );
        assert!(
            checked.refusals[1]
                .message
                .contains("all 1 contact(s) are invalid")
        );
        assert_eq!(
            deciding(&checked.refusals).map(RefusalKind::exit_code),
            Some(3)
        );
        // A header problem as well: the dialplan is still named.
        let checked = check_document(&doc("nope", "", GOOD), Some(&known()));
        let kinds: Vec<_> = checked.refusals.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [RefusalKind::InvalidDocument, RefusalKind::UnknownDialplan]
        );
        assert_eq!(
            deciding(&checked.refusals).map(RefusalKind::exit_code),
            Some(2)
        );
        // Unknown dialplans are not checked without a list.
        assert!(
            check_document(&doc("nope", "n", GOOD), None)
                .refusals
                .is_empty()
        );
        let empty = check_document(&doc("mo-sarkar-feedback", "n", ""), None);
        assert_eq!(
            empty.refusals[0].message,
            "no valid contact: the document has no contacts"
        );
    }

    #[tokio::test]
    async fn a_stored_header_that_differs_is_a_conflict_naming_the_fields() {
        let store = MemoryStore::new(2);
        let stored = check_document(&doc("mo-sarkar-feedback", "Police", GOOD), None)
            .parsed
            .unwrap()
            .header;
        assert_eq!(
            check_stored_header(&store, &stored).await.unwrap(),
            None,
            "no campaign yet"
        );
        store.put_campaign(&stored).await.unwrap();
        assert_eq!(
            check_stored_header(&store, &stored).await.unwrap(),
            None,
            "the same header"
        );
        let other = check_document(&doc("mo-sarkar-feedback", "Police 2", GOOD), None)
            .parsed
            .unwrap()
            .header;
        let refusal = check_stored_header(&store, &other).await.unwrap().unwrap();
        assert_eq!(refusal.kind, RefusalKind::HeaderConflict);
        assert_eq!(refusal.differences.len(), 1);
        assert!(
            refusal.message.starts_with(
                "campaign chk already exists with a different header: `name` is \"Police\" in the stored campaign, \"Police 2\" in this document."
            ),
            "{}",
            refusal.message
        );
        assert_eq!(RefusalKind::HeaderConflict.http_status(), 409);
    }
}
