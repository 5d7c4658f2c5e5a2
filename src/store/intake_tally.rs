//! A campaign's intake tally: what the daemon did with the documents and
//! contacts submitted for it, for `campaign status`. Submission checks
//! everything it can before queueing; this is what only ingestion can know
//! (a header that became a conflict after the check, a contact id already
//! stored with other data, an invalid contact submitted anyway).
//!
//! The tally is kept per campaign id, also for a campaign whose every
//! document was refused (so no campaign was created), and counts each intake
//! entry once: an entry ingested again after a crash (before its
//! acknowledgement) is not counted twice.

use serde::Serialize;

/// How many refusals a campaign's tally keeps (the newest).
pub const KEPT_REFUSALS: usize = 10;

/// One refusal at intake: a whole document or one contact, dead-lettered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IntakeRefusal {
    /// Where it came from: the intake entry id, and `contacts[i]` for a contact.
    pub source: String,
    /// Why, in words (phone numbers never appear in it).
    pub reason: String,
}

/// What ingesting one intake entry did for its campaign.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IntakeTally {
    /// 1 when the document's header was accepted (its contacts then count
    /// one by one), else 0.
    pub documents_accepted: u64,
    /// 1 when the whole document was refused, else 0.
    pub documents_refused: u64,
    /// Contacts of an accepted document that were refused.
    pub contacts_refused: u64,
    /// The refusals, oldest first (the store keeps the newest
    /// `KEPT_REFUSALS` of the campaign).
    pub refusals: Vec<IntakeRefusal>,
}

/// A stored refusal, with when it was counted (the store's clock).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredRefusal {
    pub at_ms: i64,
    pub source: String,
    pub reason: String,
}

/// A campaign's tally, summed over every intake entry counted for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntakeStats {
    pub documents_accepted: u64,
    pub documents_refused: u64,
    pub contacts_refused: u64,
    /// The newest refusals, newest first (at most `KEPT_REFUSALS`).
    pub last_refusals: Vec<StoredRefusal>,
}

impl IntakeStats {
    /// As the CLI (`--json`) and the admin API show it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "documents_accepted": self.documents_accepted,
            "documents_refused": self.documents_refused,
            "contacts_refused": self.contacts_refused,
            "last_refusals": self.last_refusals,
        })
    }
}
