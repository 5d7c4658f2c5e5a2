//! Reading intake documents ahead: what an entry asks (a control command,
//! or a campaign document, parsed and checked) is worked out on a blocking
//! thread while the router writes the entry before it into Redis, so that
//! the router's parsing overlaps Redis's work instead of taking turns with
//! it (docs/performance.md, "Intake", for what it measured). At most two
//! documents of one read are held parsed at a time: the one being written
//! and the next.
//!
//! Owns: telling a control command from a campaign document and parsing
//! either, which touches no store. Does not own: acting on them
//! (`router.rs`).

use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::domain::json_guard::DEFAULT_MAX_CONTACTS;
use crate::domain::{CampaignId, DocumentError, ParsedDocument, parse_campaign_document_within};
use crate::store::{CampaignAction, IntakeEntry};

/// What a document asks, as read.
pub(super) enum Reading {
    /// A control command, or why it cannot be read.
    Command(Result<(CampaignId, CampaignAction), String>),
    /// A campaign document, or why it cannot be used (boxed: a command is
    /// much smaller).
    Document(Box<Result<ParsedDocument, DocumentError>>),
}

/// Reads documents as the router's settings say.
#[derive(Clone)]
pub(super) struct Reader {
    pub(super) dialplan_exists: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    /// Contacts one document may hold (`intake.max_contacts_per_document`).
    pub(super) max_contacts: usize,
}

/// A reading under way on a blocking thread.
pub(super) struct Ahead(JoinHandle<Reading>);

impl Reader {
    pub(super) fn new(dialplan_exists: Arc<dyn Fn(&str) -> bool + Send + Sync>) -> Self {
        Self {
            dialplan_exists,
            max_contacts: DEFAULT_MAX_CONTACTS,
        }
    }

    pub(super) fn read(&self, doc: &str) -> Reading {
        match control_command(doc) {
            Some(command) => Reading::Command(command),
            None => Reading::Document(Box::new(parse_campaign_document_within(
                doc,
                self.dialplan_exists.as_ref(),
                self.max_contacts,
            ))),
        }
    }

    /// Starts reading `entry`'s document on a blocking thread (a copy of
    /// it: about 1 MB for 5,000 contacts); `None` for an entry that holds
    /// no document.
    pub(super) fn ahead(&self, entry: &IntakeEntry) -> Option<Ahead> {
        let doc = entry.payload.as_ref().ok()?.clone();
        let reader = self.clone();
        Some(Ahead(tokio::task::spawn_blocking(move || {
            reader.read(&doc)
        })))
    }
}

impl Ahead {
    /// The reading; `None` when its thread did not finish (it panicked, or
    /// the runtime is shutting down): the router then reads the document
    /// itself.
    pub(super) async fn finished(self) -> Option<Reading> {
        self.0.await.ok()
    }
}

/// `Some` when `doc` is a control command (`{"version": 1, "command":
/// "pause" | "resume" | "cancel", "id": "<campaign>", "hangup": true}`),
/// with what it asks or why it cannot be read; `None` for anything else.
fn control_command(doc: &str) -> Option<Result<(CampaignId, CampaignAction), String>> {
    // Only the three fields are built; a campaign document's contacts are
    // skipped without being allocated (this runs on every document).
    #[derive(serde::Deserialize)]
    struct Command {
        command: Option<serde_json::Value>,
        id: Option<serde_json::Value>,
        hangup: Option<serde_json::Value>,
    }
    let value: Command = serde_json::from_str(doc).ok()?;
    let command = value.command?;
    Some((|| {
        let id = value
            .id
            .as_ref()
            .and_then(|v| v.as_str())
            .ok_or("a command needs the campaign's `id`")?;
        let id = CampaignId::parse(id).map_err(|e| format!("field `id`: {e}"))?;
        let hangup = value
            .hangup
            .as_ref()
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let action = match command.as_str() {
            Some("pause") => CampaignAction::Pause,
            Some("resume") => CampaignAction::Resume,
            Some("cancel") => CampaignAction::Cancel { hangup },
            _ => {
                return Err(format!(
                    "unknown command {command}; use pause, resume or cancel"
                ));
            }
        };
        Ok((id, action))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader() -> Reader {
        Reader::new(Arc::new(|plan: &str| plan == "p"))
    }

    fn entry(doc: &str) -> IntakeEntry {
        IntakeEntry::document("1-0".into(), doc.into())
    }

    #[tokio::test]
    async fn a_document_read_ahead_reads_as_it_would_in_place() {
        let doc = serde_json::json!({
            "version": 1, "id": "ahead", "name": "a", "dialplan": "p",
            "caller_id": "+916742000000", "department": "home",
            "contacts": [{"id": "a", "phone": "+919811111111", "official_id": "off-1",
                          "office": "o", "service": "s"},
                         {"id": "b", "phone": "not a number", "official_id": "off-1",
                          "office": "o", "service": "s"}],
        })
        .to_string();
        let Some(Reading::Document(ahead)) = reader().ahead(&entry(&doc)).unwrap().finished().await
        else {
            panic!("a document");
        };
        let Reading::Document(here) = reader().read(&doc) else {
            panic!("a document");
        };
        let (Ok(ahead), Ok(here)) = (*ahead, *here) else {
            panic!("the document is read");
        };
        assert_eq!(ahead.header, here.header);
        assert_eq!(ahead.contacts, here.contacts);
        assert_eq!(ahead.rejected, here.rejected);
        assert_eq!(ahead.contacts.len(), 1);
        // Its dialplan unknown: refused, ahead as in place.
        let unknown = doc.replace(r#""dialplan":"p""#, r#""dialplan":"q""#);
        let Some(Reading::Document(refused)) =
            reader().ahead(&entry(&unknown)).unwrap().finished().await
        else {
            panic!("a document");
        };
        assert!(matches!(*refused, Err(DocumentError::Invalid(_))));
    }

    #[tokio::test]
    async fn a_control_command_is_told_from_a_document() {
        let pause = r#"{"version": 1, "command": "pause", "id": "ahead"}"#;
        let Some(Reading::Command(Ok((id, action)))) =
            reader().ahead(&entry(pause)).unwrap().finished().await
        else {
            panic!("a command");
        };
        assert_eq!((id.as_str(), action), ("ahead", CampaignAction::Pause));
        let bad = r#"{"version": 1, "command": "stop", "id": "ahead"}"#;
        assert!(matches!(
            reader().read(bad),
            Reading::Command(Err(why)) if why.contains("unknown command")
        ));
        // An entry refused before reading has nothing to read ahead.
        let refused = IntakeEntry {
            id: "1-1".into(),
            payload: Err(crate::store::RefusedEntry {
                reason: "too large".into(),
                bytes: 1,
                field_count: 1,
                excerpt: Vec::new(),
            }),
        };
        assert!(reader().ahead(&refused).is_none());
    }
}
