//! Escalations: a feedback record that raised a flag someone must act on
//! (a bribe asked, a citizen mistreated), with its severity and whether
//! anyone has acknowledged it yet.
//!
//! Owns: the escalation's wire format (version 1, on `{sampark:feedback}:escalations`),
//! severities, and the rules that turn a record into an escalation. The
//! rules come from the dialplans (`[escalations]`, `rating_question`); a
//! record carries no dialplan name, so the rules of every loaded plan are
//! merged (`dialplan::Dialplans::scoring_rules`), and two plans may not give
//! one flag different severities.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Answer, Direction, FeedbackRecord};

/// How soon someone must act on an escalation, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Act today (e.g. money was asked for).
    Urgent,
    /// Act this week (e.g. the citizen was mistreated).
    High,
    /// Keep an eye on it (e.g. a low rating).
    Watch,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Urgent, Severity::High, Severity::Watch];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Urgent => "urgent",
            Severity::High => "high",
            Severity::Watch => "watch",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a severity (urgent, high or watch)"))
    }
}

/// What the dialplans say about results: which flags escalate, at what
/// severity, and which questions are the 1–5 rating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScoringRules {
    severities: BTreeMap<String, Severity>,
    rating_questions: BTreeSet<String>,
}

impl ScoringRules {
    /// Rules from explicit parts (tests and the merge in `Dialplans`).
    pub fn new(
        severities: impl IntoIterator<Item = (String, Severity)>,
        rating_questions: impl IntoIterator<Item = String>,
    ) -> ScoringRules {
        ScoringRules {
            severities: severities.into_iter().collect(),
            rating_questions: rating_questions.into_iter().collect(),
        }
    }

    /// Adds another plan's rules; a flag already given another severity is
    /// an error naming both.
    pub fn merge(&mut self, other: &ScoringRules) -> Result<(), String> {
        for (flag, severity) in &other.severities {
            match self.severities.get(flag) {
                Some(existing) if existing != severity => {
                    return Err(format!(
                        "flag {flag:?} escalates as {existing} in one dialplan and as {severity} in another"
                    ));
                }
                _ => {
                    self.severities.insert(flag.clone(), *severity);
                }
            }
        }
        self.rating_questions
            .extend(other.rating_questions.iter().cloned());
        Ok(())
    }

    pub fn severity_of(&self, flag: &str) -> Option<Severity> {
        self.severities.get(flag).copied()
    }

    pub fn severities(&self) -> impl Iterator<Item = (&str, Severity)> {
        self.severities.iter().map(|(f, s)| (f.as_str(), *s))
    }

    pub fn is_rating(&self, question: &str) -> bool {
        self.rating_questions.contains(question)
    }

    /// The record's escalating flags (in the record's order) and the most
    /// urgent of their severities; `None` when it raised none.
    pub fn escalating(&self, record: &FeedbackRecord) -> Option<(Vec<String>, Severity)> {
        let flags: Vec<String> = record
            .flags
            .iter()
            .filter(|f| self.severities.contains_key(f.as_str()))
            .cloned()
            .collect();
        let severity = flags.iter().filter_map(|f| self.severity_of(f)).min()?;
        Some((flags, severity))
    }

    /// The escalation a record produces, if it raised an escalating flag.
    pub fn escalation_of(&self, record: &FeedbackRecord) -> Option<Escalation> {
        let (flags, severity) = self.escalating(record)?;
        Some(Escalation {
            version: 1,
            escalation_id: escalation_id_of(&record.record_id),
            record_id: record.record_id.clone(),
            flags,
            severity,
            campaign_id: record.campaign_id.clone(),
            department: record.department.clone(),
            office: record.office.clone(),
            official_id: record.official_id.clone(),
            service: record.service.clone(),
            direction: record.direction,
            answers: record.answers.clone(),
            at_ms: record.finished_at_ms,
        })
    }
}

/// The escalation id of a record: stable (the same record always gives the
/// same id, so a record relayed again cannot open a second escalation) and
/// safe in a URL path, unlike record ids, which hold a `/`.
pub fn escalation_id_of(record_id: &str) -> String {
    let digest = Sha256::digest(record_id.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("esc-{hex}")
}

/// One escalation (version 1): never a phone number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub version: u32,
    pub escalation_id: String,
    pub record_id: String,
    /// The record's flags that escalate, in the record's order.
    pub flags: Vec<String>,
    /// The most urgent severity among `flags`.
    pub severity: Severity,
    pub campaign_id: String,
    pub department: String,
    pub office: String,
    pub official_id: String,
    pub service: String,
    pub direction: Direction,
    pub answers: Vec<Answer>,
    /// When the call ended (the record's `finished_at_ms`).
    pub at_ms: i64,
}

/// Who acknowledged an escalation, when, and what they said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The operator's name as they gave it (free text, no personal data
    /// expected), e.g. `collector-office-khurda`.
    pub by: String,
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Longest `by` an acknowledgement may carry, in characters.
pub const ACK_BY_MAX: usize = 100;
/// Longest note an acknowledgement may carry, in characters.
pub const ACK_NOTE_MAX: usize = 1_000;

impl Acknowledgement {
    /// An acknowledgement as an operator gave it (the CLI and the admin API
    /// check it here alike): `by` trimmed, not empty, at most
    /// [`ACK_BY_MAX`] characters and on one line (it is shown in tables);
    /// the note at most [`ACK_NOTE_MAX`] characters, an empty one dropped.
    /// The error says which rule was broken.
    pub fn new(by: &str, note: Option<&str>, at_ms: i64) -> Result<Acknowledgement, String> {
        let by = by.trim();
        if by.is_empty() {
            return Err("`by` must name who acknowledges (it is empty)".into());
        }
        if by.chars().count() > ACK_BY_MAX {
            return Err(format!("`by` is longer than {ACK_BY_MAX} characters"));
        }
        if by.chars().any(char::is_control) {
            return Err("`by` must be one line of text (no control characters)".into());
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > ACK_NOTE_MAX) {
            return Err(format!("the note is longer than {ACK_NOTE_MAX} characters"));
        }
        Ok(Acknowledgement {
            by: by.to_owned(),
            at_ms,
            note: note.map(str::to_owned),
        })
    }
}

/// An escalation with its acknowledgement, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationView {
    #[serde(flatten)]
    pub escalation: Escalation,
    pub acknowledged: Option<Acknowledgement>,
}

impl EscalationView {
    pub fn is_open(&self) -> bool {
        self.acknowledged.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Outcome;

    fn record(flags: &[&str]) -> FeedbackRecord {
        FeedbackRecord {
            version: 1,
            record_id: "c1/k1".into(),
            campaign_id: "c1".into(),
            contact_id: "k1".into(),
            official_id: "off-1".into(),
            department: "police".into(),
            office: "ଥାନା".into(),
            service: "fir".into(),
            outcome: Outcome::Completed,
            reason: None,
            attempts: 1,
            answers: vec![],
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
            queued_at_ms: 0,
            first_dialled_at_ms: Some(1),
            finished_at_ms: 2,
            direction: Direction::Outbound,
            attributed: true,
            bridge: None,
        }
    }

    fn rules() -> ScoringRules {
        ScoringRules::new(
            [
                ("bribe_asked".to_owned(), Severity::Urgent),
                ("low_rating".to_owned(), Severity::Watch),
            ],
            ["rating".to_owned()],
        )
    }

    #[test]
    fn the_most_urgent_flag_decides() {
        let e = rules()
            .escalation_of(&record(&["low_rating", "other", "bribe_asked"]))
            .unwrap();
        assert_eq!(e.severity, Severity::Urgent);
        assert_eq!(e.flags, ["low_rating", "bribe_asked"]);
        assert_eq!(e.escalation_id, escalation_id_of("c1/k1"));
    }

    #[test]
    fn no_escalating_flag_no_escalation() {
        assert!(rules().escalation_of(&record(&["other"])).is_none());
        assert!(rules().escalation_of(&record(&[])).is_none());
    }

    #[test]
    fn ids_are_stable_and_url_safe() {
        let id = escalation_id_of("camp/contact-1");
        assert_eq!(id, escalation_id_of("camp/contact-1"));
        assert_ne!(id, escalation_id_of("camp/contact-2"));
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }

    #[test]
    fn acknowledgements_are_checked() {
        let ack = Acknowledgement::new("  ଖୋର୍ଦ୍ଧା SP  ", Some(" "), 5).unwrap();
        assert_eq!(
            (ack.by.as_str(), ack.note, ack.at_ms),
            ("ଖୋର୍ଦ୍ଧା SP", None, 5)
        );
        assert!(
            Acknowledgement::new(" ", None, 0)
                .unwrap_err()
                .contains("empty")
        );
        assert!(Acknowledgement::new(&"x".repeat(101), None, 0).is_err());
        assert!(Acknowledgement::new(&"ଖ".repeat(100), None, 0).is_ok());
        assert!(Acknowledgement::new("a\nb", None, 0).is_err());
        assert!(Acknowledgement::new("a", Some(&"n".repeat(1_001)), 0).is_err());
        let noted = Acknowledgement::new("a", Some("line 1\nline 2"), 0).unwrap();
        assert_eq!(noted.note.as_deref(), Some("line 1\nline 2"));
    }

    #[test]
    fn merging_refuses_conflicting_severities() {
        let mut a = rules();
        let b = ScoringRules::new([("bribe_asked".to_owned(), Severity::High)], []);
        assert!(a.merge(&b).unwrap_err().contains("bribe_asked"));
        let c = ScoringRules::new([("mistreated".to_owned(), Severity::High)], []);
        a.merge(&c).unwrap();
        assert_eq!(a.severity_of("mistreated"), Some(Severity::High));
    }
}
