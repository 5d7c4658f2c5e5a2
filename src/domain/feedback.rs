//! The feedback record (version 1): the contract with downstream consumers.

use serde::{Deserialize, Serialize};

use super::Outcome;

/// One answer the citizen gave, as captured during the call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The dialplan's question id (e.g. `treated_well`).
    pub question: String,
    /// The keys pressed.
    pub digits: String,
    /// The dialplan's value for that choice (e.g. `yes`, `5`).
    pub value: String,
    /// The dialplan's human label for that choice.
    pub label: String,
    /// A flag this answer raises (e.g. `bribe_asked`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// When the answer was captured, Unix milliseconds (Redis clock).
    pub at_ms: i64,
}

/// Which way a call went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// sampark called the citizen (a campaign contact or a call-back).
    #[default]
    Outbound,
    /// The citizen called the programme's number.
    Inbound,
    /// An official called the citizen through sampark (a bridged call).
    Official,
}

impl Direction {
    pub fn is_outbound(&self) -> bool {
        *self == Direction::Outbound
    }
}

/// Whom an inbound call's feedback is about, as the caller told us: one of
/// their recent service visits, or (unattributed) only a department.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub campaign_id: String,
    pub contact_id: String,
    pub official_id: String,
    pub department: String,
    pub office: String,
    pub service: String,
    /// False when the caller named no visit (office and official unknown).
    pub attributed: bool,
}

/// How the citizen's leg of an official's call went: its outcome as the
/// provider reported it (`completed`, `busy`, `no-answer`, `failed`,
/// `canceled`), how long the two were connected, and the recording's
/// reference when the campaign records (never the audio).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeReport {
    pub outcome: String,
    pub talk_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
}

fn yes() -> bool {
    true
}

/// One record per contact, written when it reaches its terminal outcome.
/// Never contains the phone number: consumers link back through `contact_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRecord {
    pub version: u32,
    /// Stable across relays (`CAMPAIGN/CONTACT`): consumers dedupe on it.
    pub record_id: String,
    pub campaign_id: String,
    pub contact_id: String,
    pub official_id: String,
    pub department: String,
    pub office: String,
    pub service: String,
    pub outcome: Outcome,
    /// Why a non-completed outcome happened, in words (e.g. the provider's error).
    pub reason: Option<String>,
    /// Calls actually placed with the provider.
    pub attempts: u32,
    pub answers: Vec<Answer>,
    /// Flags raised by the answers, each once, in order of first appearance.
    pub flags: Vec<String>,
    pub queued_at_ms: i64,
    pub first_dialled_at_ms: Option<i64>,
    pub finished_at_ms: i64,
    /// Outbound for campaign calls and call-backs, inbound for calls
    /// citizens made (absent in records written before inbound calls: outbound).
    #[serde(default)]
    pub direction: Direction,
    /// False for an inbound call the caller tied to no visit: `official_id`,
    /// `office` and `service` are then empty.
    #[serde(default = "yes")]
    pub attributed: bool,
    /// For an official's call (`direction: "official"`), the citizen's leg,
    /// once the provider reported it; the disposition is the answer to the
    /// plan's questions. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<BridgeReport>,
}

/// Flags raised by a list of answers, each once, in order.
pub fn flags_of(answers: &[Answer]) -> Vec<String> {
    let mut flags: Vec<String> = Vec::new();
    for f in answers.iter().filter_map(|a| a.flag.as_ref()) {
        if !flags.contains(f) {
            flags.push(f.clone());
        }
    }
    flags
}

#[cfg(test)]
impl FeedbackRecord {
    /// An outbound record of `department` ending `outcome` and raising
    /// `flags` (no answers), for tests of what consumes records.
    pub(crate) fn for_test(department: &str, outcome: Outcome, flags: &[&str]) -> FeedbackRecord {
        FeedbackRecord {
            version: 1,
            record_id: "c/1".into(),
            campaign_id: "c".into(),
            contact_id: "1".into(),
            official_id: "off-1".into(),
            department: department.into(),
            office: "Khordha PS".into(),
            service: "fir".into(),
            outcome,
            reason: None,
            attempts: 1,
            answers: Vec::new(),
            flags: flags.iter().map(|f| f.to_string()).collect(),
            queued_at_ms: 0,
            first_dialled_at_ms: Some(0),
            finished_at_ms: 0,
            direction: Direction::Outbound,
            attributed: true,
            bridge: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_unique_and_ordered() {
        let a = |flag: Option<&str>| Answer {
            question: "q".into(),
            digits: "1".into(),
            value: "v".into(),
            label: "l".into(),
            flag: flag.map(str::to_owned),
            at_ms: 0,
        };
        let answers = [a(Some("x")), a(None), a(Some("y")), a(Some("x"))];
        assert_eq!(flags_of(&answers), vec!["x".to_owned(), "y".to_owned()]);
    }
}
