//! Campaign documents (version 1): parsing and validation.
//!
//! A document carries a campaign header and a list of contacts. Large
//! campaigns arrive as several documents with the same header (chunks): each
//! chunk is ingested on its own and contacts accumulate under the campaign id.
//! Validation keeps every valid contact and reports each invalid one with its
//! index and reason, so nothing valid in a document is lost. A contact's
//! `phone` is normalised to E.164 (`PhoneNumber::from_indian_input`); the
//! `caller_id` must already be E.164. Keys not in `CAMPAIGN_FIELDS` or
//! `CONTACT_FIELDS` are reported (`ParsedDocument::warnings`), not refused.

use super::json_guard::GuardError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::campaign_window::parse_calling_window;
use super::redact::mask_contact;
use super::sample::{Sample, sample_fraction};
use super::unknown_fields::UnknownFields;
use super::{
    CampaignId, ContactId, Direction, Freshness, JobId, OfficialId, PhoneNumber, RetryLadder,
    UnknownField, parse_duration, parse_rfc3339,
};
use crate::policy::CallingWindow;

/// Every key a campaign document may carry at the top level. A new field is
/// added here as well as parsed below; a key missing here is reported as
/// unknown (and refused by `campaign submit --strict`).
pub const CAMPAIGN_FIELDS: &[&str] = &[
    "version",
    "id",
    "name",
    "dialplan",
    "caller_id",
    "department",
    "contacts",
    "call_not_before",
    "call_not_after",
    "expires_at",
    "sample",
    "retry",
    "priority",
    "calling_window",
    "machine_detection",
    "kind",
    "recording",
];

/// Every key a contact may carry (see `CAMPAIGN_FIELDS`).
pub const CONTACT_FIELDS: &[&str] = &[
    "id",
    "phone",
    "language",
    "official_id",
    "office",
    "service",
    "visit_at",
    "first_name",
];

/// The campaign-level fields every chunk repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignHeader {
    pub id: CampaignId,
    pub name: String,
    pub dialplan: String,
    pub caller_id: PhoneNumber,
    pub department: String,
    /// When contacts may be called relative to their visit; left out of the
    /// stored JSON when empty, so headers written before it compare equal.
    #[serde(default, skip_serializing_if = "Freshness::is_empty")]
    pub freshness: Freshness,
    /// The share of contacts called (`sample: {"rate": 0.2}`), chosen
    /// deterministically from the campaign and contact ids; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
    /// The most contacts called per office per local day
    /// (`sample: {"max_per_office_per_day": 50}`), after the rate; absent:
    /// no cap. Left out of the stored JSON when absent, so headers written
    /// before it compare equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_max_per_office_per_day: Option<u32>,
    /// The campaign's retry ladder; absent: the daemon's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryLadder>,
    /// Ask the provider to detect answering machines on every call; a
    /// machine pick-up is hung up and ends the attempt `machine`. Left out
    /// of the stored JSON when false, so headers written before it compare
    /// equal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine_detection: bool,
    /// A survey campaign (sampark plays the IVR to the citizen) or an
    /// officials' call campaign (`kind: "official"`: each contact's official
    /// is called and connected to the citizen). Left out of the stored JSON
    /// for a survey, so headers written before it compare equal.
    #[serde(default, skip_serializing_if = "CampaignKind::is_survey")]
    pub kind: CampaignKind,
    /// When the campaign's contacts may be called; absent: the daemon's
    /// `[policy.calling_window]`. Stored with its holidays inlined, never
    /// naming a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_window: Option<CallingWindow>,
    /// Urgent campaigns' contacts are dialled before normal ones, within the
    /// same limits.
    #[serde(default, skip_serializing_if = "Priority::is_normal")]
    pub priority: Priority,
}

/// What a campaign's calls are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// sampark calls the citizen and plays the dialplan's survey.
    #[default]
    Survey,
    /// sampark calls the contact's official, briefs them, connects them to
    /// the citizen, then takes the official's disposition. `recording`: the
    /// bridged conversation is recorded, after a consent notice to the
    /// citizen (the campaign's `recording`, off by default).
    Official { recording: bool },
}

impl CampaignKind {
    pub fn is_survey(&self) -> bool {
        *self == CampaignKind::Survey
    }
}

/// A campaign's place in the dialling order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Normal,
    Urgent,
}

impl Priority {
    pub fn is_normal(&self) -> bool {
        *self == Priority::Normal
    }

    pub fn is_urgent(&self) -> bool {
        *self == Priority::Urgent
    }
}

// The only float, `sample_rate`, is validated finite at parsing.
impl Eq for CampaignHeader {}

impl CampaignHeader {
    /// Whether `contact` is in the share the campaign's sample rate keeps:
    /// its sample fraction is below the rate. The same document always
    /// samples the same contacts. The per-office cap is decided at intake.
    pub fn samples(&self, contact: &ContactId) -> bool {
        let Some(rate) = self.sample_rate else {
            return true;
        };
        self.sample_fraction(contact) < rate
    }

    /// The contact's sample fraction (see `domain/sample.rs`).
    pub fn sample_fraction(&self, contact: &ContactId) -> f64 {
        sample_fraction(&self.id, contact)
    }
}

/// One citizen to call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub phone: PhoneNumber,
    /// Preferred language code (`or`, `hi`, `en`). When absent or not in the
    /// dialplan: the dialplan's language menu if it has one, else its default.
    #[serde(default)]
    pub language: Option<String>,
    pub official_id: OfficialId,
    pub office: String,
    pub service: String,
    /// When the citizen used the service (Unix ms), from `visit_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_at_ms: Option<i64>,
    /// The citizen's first name, for an official's brief (`first_name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
}

/// Everything the daemon needs to call one contact; stored with the job and
/// never changed after ingestion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSpec {
    pub campaign_id: CampaignId,
    pub dialplan: String,
    pub caller_id: PhoneNumber,
    pub department: String,
    pub contact: Contact,
    /// Inbound for the job of a call a citizen made; left out of the stored
    /// JSON when outbound, so specs written before it compare equal.
    #[serde(default, skip_serializing_if = "Direction::is_outbound")]
    pub direction: Direction,
    /// Not dialled before this instant (Unix ms; from the freshness rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<i64>,
    /// Never dialled after this instant: the contact ends `expired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after_ms: Option<i64>,
    /// The campaign's retry ladder, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryLadder>,
    /// The campaign's priority (left out when normal).
    #[serde(default, skip_serializing_if = "Priority::is_normal")]
    pub priority: Priority,
    /// The campaign's calling window, if it sets one (absent: the daemon's),
    /// so the dialer checks a grant against it without another read. Left
    /// out when absent, so specs written before it are byte-identical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_window: Option<CallingWindow>,
    /// The campaign's `machine_detection`; left out of the stored JSON when
    /// false, so specs written before it stay byte-identical.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub machine_detection: bool,
    /// For an official's call: the official's side (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub official_call: Option<OfficialCall>,
}

/// The official's side of an official's call, resolved at intake from the
/// officials' registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialCall {
    /// The official's number: dialled first, never shown to the citizen
    /// and never in a record.
    pub phone: PhoneNumber,
    /// The language the official is briefed in (the registry's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Record the bridged conversation (the campaign's `recording`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record: bool,
    /// The visit's date as the brief says it (`YYYY-MM-DD` in the
    /// programme's zone), when the contact has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_date: Option<String>,
}

impl JobSpec {
    pub fn new(header: &CampaignHeader, contact: Contact) -> Self {
        let (not_before_ms, not_after_ms) = header.freshness.window(contact.visit_at_ms);
        Self {
            not_before_ms,
            not_after_ms,
            retry: header.retry.clone(),
            priority: header.priority,
            calling_window: header.calling_window.clone(),
            machine_detection: header.machine_detection,
            campaign_id: header.id.clone(),
            dialplan: header.dialplan.clone(),
            caller_id: header.caller_id.clone(),
            department: header.department.clone(),
            contact,
            direction: Direction::Outbound,
            official_call: None,
        }
    }

    /// The number the first leg rings: the official's for an official's
    /// call, else the citizen's.
    pub fn dialled(&self) -> &PhoneNumber {
        self.official_call
            .as_ref()
            .map_or(&self.contact.phone, |o| &o.phone)
    }

    pub fn job_id(&self) -> JobId {
        JobId::new(self.campaign_id.clone(), self.contact.id.clone())
    }
}

/// A contact the document carried but that could not be accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RejectedContact {
    /// Position in the document's `contacts` array.
    pub index: usize,
    /// The contact's id, when it had a readable one.
    pub id: Option<String>,
    pub reason: String,
    /// The offending contact as submitted, with the phone number masked.
    pub masked: Value,
}

/// The result of parsing a document whose header is valid.
#[derive(Clone, Debug)]
pub struct ParsedDocument {
    pub header: CampaignHeader,
    pub contacts: Vec<Contact>,
    pub rejected: Vec<RejectedContact>,
    /// Keys the document carries that sampark does not know (ignored), one
    /// entry per distinct key.
    pub warnings: Vec<UnknownField>,
}

/// A document that cannot be used at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("invalid campaign document: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

const SUPPORTED_VERSION: u64 = 1;

/// Parses and validates one campaign document, with any number of
/// contacts (its size is bounded by its caller: a request body, a file that
/// is split before it is queued).
///
/// `dialplan_exists` says whether a dialplan name is known to this daemon.
pub fn parse_campaign_document(
    json: &str,
    dialplan_exists: &dyn Fn(&str) -> bool,
) -> Result<ParsedDocument, DocumentError> {
    parse_campaign_document_within(json, dialplan_exists, usize::MAX)
}

/// As [`parse_campaign_document`], refusing a document whose `contacts`
/// holds more than `max_contacts` (`intake.max_contacts_per_document`)
/// before any contact is read.
pub fn parse_campaign_document_within(
    json: &str,
    dialplan_exists: &dyn Fn(&str) -> bool,
    max_contacts: usize,
) -> Result<ParsedDocument, DocumentError> {
    match super::json_guard::check_campaign_document(json, max_contacts) {
        Ok(()) => {}
        Err(GuardError::Syntax(why)) => return Err(DocumentError::Json(why)),
        Err(GuardError::Limit(why)) => return Err(DocumentError::Invalid(vec![why])),
    }
    let doc: Value = serde_json::from_str(json).map_err(|e| DocumentError::Json(e.to_string()))?;
    let Value::Object(obj) = &doc else {
        return Err(DocumentError::Invalid(vec![
            "the document must be a JSON object".into(),
        ]));
    };
    let mut problems = Vec::new();
    let mut unknown = UnknownFields::default();
    unknown.campaign(obj, CAMPAIGN_FIELDS);
    match obj.get("version").and_then(Value::as_u64) {
        Some(SUPPORTED_VERSION) => {}
        Some(v) => problems.push(format!("version {v} is not supported (expected 1)")),
        None => problems.push("field `version` is missing or not a number".into()),
    }
    let text = |name: &str, problems: &mut Vec<String>| -> String {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => {
                problems.push(format!("field `{name}` is empty"));
                String::new()
            }
            Some(_) => {
                problems.push(format!("field `{name}` must be a string"));
                String::new()
            }
            None => {
                problems.push(format!("field `{name}` is missing"));
                String::new()
            }
        }
    };
    let id = text("id", &mut problems);
    let name = text("name", &mut problems);
    let dialplan = text("dialplan", &mut problems);
    let caller_id = text("caller_id", &mut problems);
    let department = text("department", &mut problems);
    let id = CampaignId::parse(&id).map_err(|e| problems.push(format!("field `id`: {e}")));
    let caller_id = PhoneNumber::parse(&caller_id).map_err(|e| {
        problems.push(match PhoneNumber::from_indian_input(&caller_id) {
            Ok(p) => format!("field `caller_id`: {e}: write it as {}", p.masked()),
            Err(_) => format!("field `caller_id`: {e}"),
        })
    });
    if !dialplan.is_empty() && !dialplan_exists(&dialplan) {
        problems.push(format!(
            "field `dialplan`: no dialplan named {dialplan:?} is loaded"
        ));
    }
    let freshness = freshness(obj, &mut problems);
    let retry = match obj.get("retry") {
        None | Some(Value::Null) => None,
        Some(v) => RetryLadder::parse(v).map_err(|p| problems.extend(p)).ok(),
    };
    let machine_detection = match obj.get("machine_detection") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(on)) => *on,
        Some(_) => {
            problems.push("field `machine_detection` must be true or false".into());
            false
        }
    };
    let calling_window = match obj.get("calling_window") {
        None | Some(Value::Null) => None,
        Some(v) => parse_calling_window(v).map_err(|p| problems.extend(p)).ok(),
    };
    let priority = match obj.get("priority") {
        None | Some(Value::Null) => Priority::Normal,
        Some(Value::String(p)) if p == "normal" => Priority::Normal,
        Some(Value::String(p)) if p == "urgent" => Priority::Urgent,
        Some(other) => {
            problems.push(format!(
                "field `priority` must be \"normal\" or \"urgent\", not {other}"
            ));
            Priority::Normal
        }
    };
    let recording = match obj.get("recording") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(on)) => Some(*on),
        Some(_) => {
            problems.push("field `recording` must be true or false".into());
            None
        }
    };
    let kind = match obj.get("kind") {
        None | Some(Value::Null) => CampaignKind::Survey,
        Some(Value::String(k)) if k == "survey" => CampaignKind::Survey,
        Some(Value::String(k)) if k == "official" => CampaignKind::Official {
            recording: recording.unwrap_or(false),
        },
        Some(other) => {
            problems.push(format!(
                "field `kind` must be \"survey\" or \"official\", not {other}"
            ));
            CampaignKind::Survey
        }
    };
    if kind.is_survey() && recording == Some(true) {
        problems.push(
            "field `recording` applies to officials' calls (`kind: \"official\"`) only".into(),
        );
    }
    let sample = match obj.get("sample") {
        None | Some(Value::Null) => None,
        Some(v) => Sample::parse(v).map_err(|p| problems.extend(p)).ok(),
    };
    let contacts = match obj.get("contacts") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => {
            problems.push("field `contacts` must be an array".into());
            &[]
        }
        None => {
            problems.push("field `contacts` is missing".into());
            &[]
        }
    };
    if !problems.is_empty() {
        // A misspelt key is the likely cause of a missing field: say so.
        problems.extend(unknown.into_vec().iter().map(ToString::to_string));
        return Err(DocumentError::Invalid(problems));
    }
    let (Ok(id), Ok(caller_id)) = (id, caller_id) else {
        // INVARIANT: any Err above pushed a problem, so we returned already.
        return Err(DocumentError::Invalid(vec!["invalid header".into()]));
    };
    let header = CampaignHeader {
        id,
        name,
        dialplan,
        caller_id,
        department,
        freshness,
        sample_rate: sample.and_then(|s| s.rate),
        sample_max_per_office_per_day: sample.and_then(|s| s.max_per_office_per_day),
        retry,
        priority,
        calling_window,
        machine_detection,
        kind,
    };
    let (contacts, rejected) = parse_contacts(contacts, &mut unknown);
    Ok(ParsedDocument {
        header,
        contacts,
        rejected,
        warnings: unknown.into_vec(),
    })
}

fn parse_contacts(
    items: &[Value],
    unknown: &mut UnknownFields,
) -> (Vec<Contact>, Vec<RejectedContact>) {
    let mut accepted: Vec<Contact> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashMap::new();
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Value::Object(obj) = item {
            unknown.contact(index, obj, CONTACT_FIELDS);
        }
        let id = item.get("id").and_then(Value::as_str).map(str::to_owned);
        let reject = |reason: String| RejectedContact {
            index,
            id: id.clone(),
            reason,
            masked: mask_contact(item),
        };
        match parse_contact(item) {
            Ok(contact) => match seen.get(&contact.id) {
                None => {
                    seen.insert(contact.id.clone(), accepted.len());
                    accepted.push(contact);
                }
                Some(&first) if accepted[first] == contact => {}
                Some(_) => rejected.push(reject(format!(
                    "contact id {} appears earlier in this document with different data",
                    contact.id
                ))),
            },
            Err(reason) => rejected.push(reject(reason)),
        }
    }
    (accepted, rejected)
}

/// The optional freshness fields of a campaign document.
fn freshness(obj: &serde_json::Map<String, Value>, problems: &mut Vec<String>) -> Freshness {
    let text = |name: &str, problems: &mut Vec<String>| match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push(format!("field `{name}` must be a string"));
            None
        }
    };
    let duration = |name: &str, problems: &mut Vec<String>| {
        text(name, problems).and_then(|v| match parse_duration(&v) {
            Ok(d) => Some(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            Err(e) => {
                problems.push(format!("field `{name}`: {e}"));
                None
            }
        })
    };
    let call_not_before_ms = duration("call_not_before", problems);
    let call_not_after_ms = duration("call_not_after", problems);
    if let (Some(a), Some(b)) = (call_not_before_ms, call_not_after_ms)
        && a >= b
    {
        problems.push("field `call_not_before` must be shorter than `call_not_after`".into());
    }
    let expires_at_ms = text("expires_at", problems).and_then(|v| match parse_rfc3339(&v) {
        Ok(ms) => Some(ms),
        Err(e) => {
            problems.push(format!("field `expires_at`: {e}"));
            None
        }
    });
    Freshness {
        call_not_before_ms,
        call_not_after_ms,
        expires_at_ms,
    }
}

fn parse_contact(item: &Value) -> Result<Contact, String> {
    let Value::Object(obj) = item else {
        return Err("a contact must be a JSON object".into());
    };
    let mut problems = Vec::new();
    let field = |name: &str, required: bool, problems: &mut Vec<String>| -> Option<String> {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Null) | None if !required => None,
            Some(Value::String(_)) | None | Some(Value::Null) => {
                problems.push(format!("`{name}` is missing or empty"));
                None
            }
            Some(_) => {
                problems.push(format!("`{name}` must be a string"));
                None
            }
        }
    };
    let id = field("id", true, &mut problems);
    let phone = match obj.get("phone") {
        // Spreadsheet exports write numbers as JSON numbers.
        Some(Value::Number(n)) => n.as_u64().map(|n| n.to_string()).or_else(|| {
            problems.push("`phone` must be a string or a whole number".into());
            None
        }),
        _ => field("phone", true, &mut problems),
    };
    let language = field("language", false, &mut problems);
    let first_name = field("first_name", false, &mut problems);
    if first_name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        problems.push("`first_name` is longer than 100 characters".into());
    }
    let official = field("official_id", true, &mut problems);
    let office = field("office", true, &mut problems);
    let service = field("service", true, &mut problems);
    let visit_at_ms = field("visit_at", false, &mut problems).and_then(|v| {
        parse_rfc3339(&v)
            .map_err(|e| problems.push(format!("`visit_at`: {e}")))
            .ok()
    });
    let id = id.and_then(|v| {
        ContactId::parse(&v)
            .map_err(|e| problems.push(format!("`id`: {e}")))
            .ok()
    });
    let phone = phone.and_then(|v| {
        PhoneNumber::from_indian_input(&v)
            .map_err(|e| problems.push(format!("`phone`: {e}")))
            .ok()
    });
    let official = official.and_then(|v| {
        OfficialId::parse(&v)
            .map_err(|e| problems.push(format!("`official_id`: {e}")))
            .ok()
    });
    match (id, phone, official, office, service) {
        (Some(id), Some(phone), Some(official_id), Some(office), Some(service))
            if problems.is_empty() =>
        {
            Ok(Contact {
                id,
                phone,
                language,
                official_id,
                office,
                service,
                visit_at_ms,
                first_name,
            })
        }
        _ => Err(problems.join("; ")),
    }
}

#[cfg(test)]
#[path = "campaign_input_tests.rs"]
mod input_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(contacts: &str) -> String {
        format!(
            r#"{{"version":1,"id":"police-1","name":"Police feedback","dialplan":"mo-sarkar-feedback",
               "caller_id":"+916742000000","department":"home","contacts":[{contacts}]}}"#
        )
    }

    const GOOD: &str = r#"{"id":"c-1","phone":"+919876543210","language":"or","official_id":"off-17","office":"Dhenkanal Town PS","service":"FIR registration"}"#;

    fn known(name: &str) -> bool {
        name == "mo-sarkar-feedback"
    }

    #[test]
    fn parses_a_valid_document() {
        let parsed = parse_campaign_document(&doc(GOOD), &known).unwrap();
        assert_eq!(parsed.header.id.as_str(), "police-1");
        assert_eq!(parsed.contacts.len(), 1);
        assert_eq!(parsed.contacts[0].language.as_deref(), Some("or"));
        assert!(parsed.rejected.is_empty());
    }

    #[test]
    fn header_problems_are_all_reported() {
        let err = parse_campaign_document(
            r#"{"version":2,"id":"bad id","dialplan":"nope","caller_id":"123","contacts":{}}"#,
            &known,
        )
        .unwrap_err();
        let DocumentError::Invalid(problems) = err else {
            panic!("expected Invalid")
        };
        let all = problems.join("\n");
        for needle in [
            "version 2",
            "`name`",
            "`department`",
            "`id`",
            "caller_id",
            "nope",
            "`contacts`",
        ] {
            assert!(all.contains(needle), "{needle} missing from {all}");
        }
    }

    #[test]
    fn bad_json_is_reported() {
        assert!(matches!(
            parse_campaign_document("{not json", &known),
            Err(DocumentError::Json(_))
        ));
    }

    #[test]
    fn invalid_contacts_are_rejected_individually_and_masked() {
        let bad_phone = r#"{"id":"c-2","phone":"+91987654321","official_id":"off-1","office":"o","service":"s"}"#;
        let missing = r#"{"id":"c-3","phone":"+919876543211"}"#;
        let conflicting = r#"{"id":"c-1","phone":"+919876543219","official_id":"off-1","office":"o","service":"s"}"#;
        let parsed = parse_campaign_document(
            &doc(&format!(
                "{GOOD},{bad_phone},{missing},{GOOD},{conflicting},7"
            )),
            &known,
        )
        .unwrap();
        assert_eq!(parsed.contacts.len(), 1);
        let reasons: Vec<_> = parsed
            .rejected
            .iter()
            .map(|r| (r.index, r.reason.clone()))
            .collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert_eq!(reasons[0].0, 1);
        assert!(reasons[0].1.contains("+91"), "{}", reasons[0].1);
        assert!(reasons[1].1.contains("official_id"));
        assert!(reasons[2].1.contains("earlier in this document"));
        assert_eq!(reasons[3].0, 5);
        let masked = parsed.rejected[0].masked["phone"].as_str().unwrap();
        assert_eq!(masked, "+91*****4321");
    }
}

#[cfg(test)]
mod freshness_tests {
    use super::*;

    fn doc(extra: &str, visit: &str) -> String {
        format!(
            r#"{{"version": 1, "id": "c", "name": "n", "dialplan": "d",
                "caller_id": "+916742000000", "department": "home"{extra},
                "contacts": [{{"id": "k", "phone": "+919876543210", "official_id": "o",
                               "office": "x", "service": "y"{visit}}}]}}"#
        )
    }

    #[test]
    fn the_window_follows_the_visit_and_the_expiry() {
        let parsed = parse_campaign_document(
            &doc(
                r#", "call_not_before": "2h", "call_not_after": "72h", "expires_at": "2026-12-31T18:30:00Z""#,
                r#", "visit_at": "2026-11-27T10:30:00+05:30""#,
            ),
            &|_| true,
        )
        .unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
        let visit = 1_795_755_600_000;
        assert_eq!(spec.not_before_ms, Some(visit + 7_200_000));
        assert_eq!(spec.not_after_ms, Some(visit + 72 * 3_600_000));
    }

    #[test]
    fn a_retry_ladder_is_read_and_checked() {
        let parsed = parse_campaign_document(
            &doc(
                r#", "retry": {"max_attempts": 4, "busy": ["10m", "1h"], "no_answer": []}"#,
                "",
            ),
            &|_| true,
        )
        .unwrap();
        let ladder = parsed.header.retry.clone().unwrap();
        assert_eq!(ladder.max_attempts, Some(4));
        assert_eq!(ladder.busy, Some(vec![600_000, 3_600_000]));
        assert_eq!(ladder.no_answer, Some(Vec::new()));
        assert_eq!(ladder.failed, None);
        let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
        assert_eq!(spec.retry, Some(ladder));
        let Err(DocumentError::Invalid(problems)) = parse_campaign_document(
            &doc(
                r#", "retry": {"max_attempts": 0, "busy": ["soon"], "voicemail": ["1h"]}"#,
                "",
            ),
            &|_| true,
        ) else {
            panic!("refused");
        };
        let all = problems.join("\n");
        for want in ["retry.voicemail", "retry.max_attempts", "retry.busy[0]"] {
            assert!(all.contains(want), "{want} in {all}");
        }
    }

    #[test]
    fn machine_detection_reaches_the_job_and_is_stored_only_when_on() {
        let parsed = parse_campaign_document(
            &doc(
                r#", "machine_detection": true, "retry": {"machine": ["1h"]}"#,
                "",
            ),
            &|_| true,
        )
        .unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        assert!(parsed.header.machine_detection);
        let spec = JobSpec::new(&parsed.header, parsed.contacts[0].clone());
        assert!(spec.machine_detection);
        let stored = serde_json::to_string(&spec).unwrap();
        assert!(stored.contains(r#""machine_detection":true"#), "{stored}");
        assert_eq!(serde_json::from_str::<JobSpec>(&stored).unwrap(), spec);
        // Off (absent or false): the stored header and spec are as before.
        for extra in ["", r#", "machine_detection": false"#] {
            let parsed = parse_campaign_document(&doc(extra, ""), &|_| true).unwrap();
            assert!(!parsed.header.machine_detection);
            let header = serde_json::to_string(&parsed.header).unwrap();
            let spec =
                serde_json::to_string(&JobSpec::new(&parsed.header, parsed.contacts[0].clone()))
                    .unwrap();
            assert!(!header.contains("machine_detection"), "{header}");
            assert!(!spec.contains("machine_detection"), "{spec}");
        }
        let Err(DocumentError::Invalid(problems)) =
            parse_campaign_document(&doc(r#", "machine_detection": "yes""#, ""), &|_| true)
        else {
            panic!("refused");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`machine_detection` must be true or false")),
            "{problems:?}"
        );
    }

    #[test]
    fn bad_freshness_is_refused_with_every_problem() {
        let Err(DocumentError::Invalid(problems)) = parse_campaign_document(
            &doc(
                r#", "call_not_before": "3d", "call_not_after": "2h", "expires_at": "tomorrow""#,
                "",
            ),
            &|_| true,
        ) else {
            panic!("refused");
        };
        let all = problems.join("\n");
        assert!(all.contains("`call_not_before` must be shorter"), "{all}");
        assert!(all.contains("`expires_at`"), "{all}");
        let parsed =
            parse_campaign_document(&doc("", r#", "visit_at": "27/11/2026""#), &|_| true).unwrap();
        assert!(parsed.contacts.is_empty());
        assert!(parsed.rejected[0].reason.contains("`visit_at`"));
    }
}
