//! The store's values of campaigns and their programme: control and
//! status, waiting reasons, do-not-call entries, dead letters, sample
//! slots, scores, escalations and daemon instances.

use std::collections::BTreeMap;

use jiff::civil::Date;

use crate::domain::scorecard::{Entity, Tally};
use crate::domain::{
    Acknowledgement, CampaignHeader, CampaignId, EscalationView, FeedbackRecord, JobState,
    OfficialId, PhoneNumber, Severity,
};

/// A do-not-call entry: the citizen is never called while it lasts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DncEntry {
    /// Why (free text; may be empty).
    pub reason: String,
    pub added_at_ms: i64,
    /// When the entry lapses; `None`: never.
    pub expires_at_ms: Option<i64>,
}

impl DncEntry {
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_none_or(|t| now_ms < t)
    }
}

/// A number to put on the do-not-call list (stored only under its citizen
/// tag; the number itself is never written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DncRequest {
    pub phone: PhoneNumber,
    /// Why (free text; may be empty).
    pub reason: String,
    /// When the entry lapses (Unix ms); `None`: never.
    pub expires_at_ms: Option<i64>,
}

/// What putting a number on the do-not-call list did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DncWrite {
    /// The number was not on the list (or its entry had lapsed): a new
    /// entry, added now.
    Added,
    /// The number was on the list: its reason and expiry were replaced; it
    /// keeps the time it was first added.
    Updated,
    /// The expiry is not in the future (the store's clock): nothing stored.
    Lapsed,
}

/// Why a campaign's contacts wait (see [`Store::waiting`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Waiting {
    /// One entry per reason, the most contacts first.
    pub reasons: Vec<WaitReason>,
    /// Parked while the campaign is paused (due when it is resumed).
    pub parked: u64,
}

/// Contacts waiting for one reason, and when the first and the last of
/// them come due (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WaitReason {
    pub reason: String,
    pub contacts: u64,
    pub first_due_ms: i64,
    pub last_due_ms: i64,
}

/// The reason a retry waits under, whatever the attempt's outcome was.
pub const RETRY_DELAY: &str = "retry delay";

impl Waiting {
    /// Groups `(reason, due)` pairs.
    pub fn from_jobs(jobs: impl IntoIterator<Item = (String, i64)>, parked: u64) -> Waiting {
        let mut by_reason: BTreeMap<String, WaitReason> = BTreeMap::new();
        for (reason, due) in jobs {
            by_reason
                .entry(reason.clone())
                .and_modify(|r| {
                    r.contacts += 1;
                    r.first_due_ms = r.first_due_ms.min(due);
                    r.last_due_ms = r.last_due_ms.max(due);
                })
                .or_insert(WaitReason {
                    reason,
                    contacts: 1,
                    first_due_ms: due,
                    last_due_ms: due,
                });
        }
        let mut reasons: Vec<WaitReason> = by_reason.into_values().collect();
        reasons.sort_by(|a, b| b.contacts.cmp(&a.contacts).then(a.reason.cmp(&b.reason)));
        Waiting { reasons, parked }
    }

    /// When the earliest waiting contact comes due.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.reasons.iter().map(|r| r.first_due_ms).min()
    }

    /// Contacts waiting in the delayed sets.
    pub fn delayed(&self) -> u64 {
        self.reasons.iter().map(|r| r.contacts).sum()
    }
}

/// The reason a waiting job is listed under: retries by their kind, other
/// waits by the reason the dialer wrote on the job.
pub fn wait_reason(state: JobState, reason: Option<&str>) -> Option<String> {
    match state {
        JobState::RetryWait => Some(RETRY_DELAY.to_owned()),
        JobState::Queued => Some(reason.unwrap_or("waiting").to_owned()),
        _ => None,
    }
}

/// What an operator did to a campaign last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Dialled as its limits allow.
    Active,
    /// Nothing new is dialled; calls in progress finish; resumable.
    Paused,
    /// Every contact not yet dialled ended `cancelled`; final. With
    /// `hangup`, calls in progress are being hung up.
    Cancelled { hangup: bool },
}

impl CampaignState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CampaignState::Active => "active",
            CampaignState::Paused => "paused",
            CampaignState::Cancelled { .. } => "cancelled",
        }
    }
}

/// An operator's command to a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CampaignAction {
    Pause,
    Resume,
    /// With `hangup`, calls in progress are hung up too.
    Cancel {
        hangup: bool,
    },
}

impl CampaignAction {
    /// The command as an operator names it.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignAction::Pause => "pause",
            CampaignAction::Resume => "resume",
            CampaignAction::Cancel { hangup: false } => "cancel",
            CampaignAction::Cancel { hangup: true } => "cancel with hang-up",
        }
    }
}

/// A dead-lettered intake document or contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    /// Where it came from (e.g. the intake entry id).
    pub source: String,
    /// What is wrong, in words.
    pub reason: String,
    /// The rejected document or contact. Whoever builds a letter need not
    /// mask it: the store keeps only [`DeadLetter::masked`].
    pub payload: String,
}

impl DeadLetter {
    /// The letter as a store keeps it: the payload and the reason with
    /// every number masked (`domain::mask_document`), so no raw number
    /// reaches the dead-letter stream whichever path refused it.
    pub fn masked(&self) -> DeadLetter {
        DeadLetter {
            source: self.source.clone(),
            reason: crate::domain::mask_digit_runs(&self.reason),
            payload: crate::domain::mask_document(&self.payload),
        }
    }
}

/// One (campaign, office, local day) group of a campaign's
/// `max_per_office_per_day` sample: at most the cap of its contacts are
/// called, fleet-wide and across every document of the campaign.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleSlot {
    pub campaign: CampaignId,
    /// The contact's `office`, as written.
    pub office: String,
    /// The local date (`YYYY-MM-DD`, the programme's zone) of the contact's
    /// visit, or of its intake when it has no `visit_at`.
    pub day: String,
}

/// Counts by state for one campaign, summed over shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CampaignStatus {
    pub header: CampaignHeader,
    pub state: CampaignState,
    /// `JobState::as_str()` → number of contacts in that state.
    pub counts: BTreeMap<String, u64>,
    /// Per official (the contact's `official_id`; for inbound calls the
    /// programme desk): `JobState::as_str()` → contacts in that state. Only
    /// occupied states; contacts ingested before per-official counts existed
    /// are counted from their next state change on.
    pub officials: BTreeMap<OfficialId, BTreeMap<String, u64>>,
}

impl CampaignStatus {
    /// The status as `campaign list --json` and `GET /admin/campaigns` show it.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.header.id.as_str(),
            "name": self.header.name,
            "state": self.state.as_str(),
            "hangup": matches!(self.state, CampaignState::Cancelled { hangup: true }),
            "total": self.total(),
            "finished": self.finished(),
            "counts": self.counts,
        })
    }

    /// The summary with the per-official counts (`officials`: official →
    /// state → contacts), as `campaign status --json` and
    /// `GET /admin/campaigns/{id}` show it.
    pub fn detail(&self) -> serde_json::Value {
        let mut detail = self.summary();
        detail["officials"] = serde_json::json!(self.officials);
        detail
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Contacts in a terminal state.
    pub fn finished(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| k.parse::<JobState>().is_ok_and(JobState::is_terminal))
            .map(|(_, v)| v)
            .sum()
    }
}

/// The job store. See the module docs and ARCHITECTURE.md for semantics.
/// One entry of the feedback stream: its id and its record, or why it is
/// not one.
pub type FeedbackEntry = (String, std::result::Result<FeedbackRecord, String>);

/// One scorecard of one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayScore {
    pub day: Date,
    pub entity: Entity,
    pub tally: Tally,
}

/// Which escalations to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EscalationQuery {
    /// Only those nobody has acknowledged.
    pub open_only: bool,
    pub department: Option<String>,
    pub severity: Option<Severity>,
    /// At most this many (0 = no limit).
    pub limit: usize,
}

impl EscalationQuery {
    pub fn matches(&self, view: &EscalationView) -> bool {
        (!self.open_only || view.is_open())
            && self
                .department
                .as_ref()
                .is_none_or(|d| *d == view.escalation.department)
            && self.severity.is_none_or(|s| s == view.escalation.severity)
    }

    /// Filters, orders (open first, most urgent, newest) and truncates.
    pub fn select(&self, views: impl IntoIterator<Item = EscalationView>) -> Vec<EscalationView> {
        let mut out: Vec<EscalationView> = views.into_iter().filter(|v| self.matches(v)).collect();
        out.sort_by(|a, b| {
            (!a.is_open(), a.is_open().then_some(a.escalation.severity))
                .cmp(&(!b.is_open(), b.is_open().then_some(b.escalation.severity)))
                .then(b.escalation.at_ms.cmp(&a.escalation.at_ms))
                .then(a.escalation.escalation_id.cmp(&b.escalation.escalation_id))
        });
        if self.limit > 0 {
            out.truncate(self.limit);
        }
        out
    }
}

/// An instance as the store last heard from it (for operators: which
/// instances are alive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSeen {
    /// Its name (`dialer.consumer`, by default the host's name).
    pub name: String,
    /// How long ago its last heartbeat was, in milliseconds.
    pub idle_ms: i64,
}

/// What acknowledging an escalation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    Acknowledged,
    /// It already was: the first acknowledgement stands.
    Already(Acknowledgement),
    Unknown,
}
