//! The store contract: types and the `Store` trait both backends implement.
//!
//! Every mutating method is one atomic step (one Lua script on Redis, one
//! critical section in memory), fenced by the job's `attempt` so replaying it
//! after a lost reply, or applying a stale event, changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::Date;

use super::StoreError;
use super::intake_entry::IntakeEntry;
use super::intake_tally::{IntakeStats, IntakeTally};
use super::registry::{ImportSummary, OfficialQuery};
use crate::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use crate::domain::{
    Acknowledgement, Answer, Attribution, BridgeReport, CallStatus, CampaignHeader, CampaignId,
    ContactId, EscalationView, FeedbackRecord, JobId, JobSpec, JobState, Official, OfficialId,
    Outcome, PhoneNumber, ScoringRules, Severity,
};

pub type Result<T> = std::result::Result<T, StoreError>;

/// A shard number in `0..shards`; an official's jobs all live in one shard.
pub type ShardId = u16;

/// A job and the shard that holds it. Every per-job store call takes one, so
/// no call has to find the shard first: the dialer knows it from the ready
/// entry, webhooks from their callback URL, the reconciler from the shard it
/// scans.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobRef {
    pub shard: ShardId,
    pub id: JobId,
}

impl JobRef {
    pub fn new(shard: ShardId, id: JobId) -> Self {
        Self { shard, id }
    }
}

impl std::fmt::Display for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.id, self.shard)
    }
}

/// A per-official dial quota: `burst` dial starts at once, then one more every
/// `period`. In any window `t` at most `burst + t / period` starts happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub burst: u32,
    pub period: Duration,
}

/// The result of an idempotent put.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// New: stored now.
    Created,
    /// Already stored with identical content: nothing changed.
    Unchanged,
    /// Already stored with different content: refused, nothing changed.
    Conflict,
}

/// An entry of a shard's ready stream, handed to one dialer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadyEntry {
    pub shard: ShardId,
    pub entry_id: String,
    pub job: JobId,
    pub official: OfficialId,
    /// The job's citizen tag and department, so the one authorising step
    /// can name the citizen's and the department's keys. `None` when the
    /// job does not hold them as fields (one keeping its whole spec, an
    /// inbound call's); the store then looks them up.
    pub citizen: Option<String>,
    pub department: Option<String>,
    /// Read from the shard's urgent stream (an urgent campaign's job).
    pub urgent: bool,
}

impl ReadyEntry {
    pub fn job_ref(&self) -> JobRef {
        JobRef::new(self.shard, self.job.clone())
    }
}

/// What claiming a number within a campaign found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NumberClaim {
    /// The contact holds the number (claimed now, or again): call it.
    Holds,
    /// Another contact of the campaign holds it: this one is a duplicate.
    HeldBy(ContactId),
    /// The contact held it and has ended (its record was relayed; its job
    /// may be gone after the retention): a replay, never called again.
    Ended,
}

/// A contact to enqueue (`Store::enqueue_batch`).
#[derive(Clone, Copy, Debug)]
pub struct NewJob<'a> {
    pub spec: &'a JobSpec,
    /// When the contact's calling window next opens, if it is closed at
    /// ingest (Unix ms); `None`: open now.
    pub opens_at_ms: Option<i64>,
}

/// A contact that ends at intake, never dialled (`Store::enqueue_ended_batch`).
#[derive(Clone, Copy, Debug)]
pub struct EndedJob<'a> {
    pub spec: &'a JobSpec,
    pub outcome: Outcome,
    pub reason: &'a str,
}

/// A snapshot of one job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub shard: ShardId,
    pub spec: Arc<JobSpec>,
    pub state: JobState,
    /// Fence: incremented each time a dial is authorised.
    pub attempt: u32,
    /// Calls actually placed with the provider (originated or adopted).
    pub dials: u32,
    /// The provider's call id for the current attempt, once known.
    pub call_sid: Option<String>,
    /// The call ids of earlier attempts: never the current attempt's call,
    /// whatever a provider's call list says.
    pub past_call_sids: Vec<String>,
    /// Rank of the latest status applied to the current attempt (0 = none).
    pub status_rank: u8,
    /// The last call status applied to the current attempt.
    pub call_status: Option<CallStatus>,
    /// The IVR session, opaque to the store (JSON written by the call core).
    pub ivr: Option<String>,
    /// Whom an inbound call's record is about, once the caller said; the
    /// record uses it instead of the job's contact.
    pub attribution: Option<Attribution>,
    /// An official's call's citizen leg, once reported (see `IvrUpdate`).
    pub bridge: Option<BridgeReport>,
    /// How many IVR steps have been saved (fence for gather webhooks).
    pub ivr_step: u32,
    /// Every answer captured so far, in order.
    pub answers: Vec<Answer>,
    /// The response body returned for the last saved IVR step, for duplicates.
    pub last_response: Option<String>,
    /// Why the job is where it is (last error, deferral reason, outcome reason).
    pub reason: Option<String>,
    pub queued_at_ms: i64,
    pub first_dialled_at_ms: Option<i64>,
    /// When the current attempt was authorised (for reconciliation look-ups).
    pub dial_started_at_ms: Option<i64>,
    pub updated_at_ms: i64,
}

impl Job {
    pub fn job_ref(&self) -> JobRef {
        JobRef::new(self.shard, self.id.clone())
    }
}

/// The result of asking to start a dial.
#[derive(Clone, Debug, PartialEq)]
pub enum Authorize {
    /// The job is now `Dialing` with `job.attempt` as its new attempt; every
    /// limit's unit is spent.
    Granted { job: Box<Job>, now_ms: i64 },
    /// A limit holds the job until `until_ms`, the earliest time every limit
    /// lets it through (for the live-call cap, when it is looked at again).
    /// Held by its official's quota (the latest of the limits), the job
    /// joins the official's held queue, and the official is due at
    /// `until_ms`; held by another limit, it went to the delayed set.
    /// Nothing was spent.
    Deferred { until_ms: i64, limit: Limit },
    /// Only the provider's calls-per-second cap holds the dial: the entry is
    /// not consumed; ask again with it after `wait`. Nothing was spent.
    ProviderBusy { wait: Duration },
    /// The number is on the do-not-call list or opted out earlier: the job
    /// ended `opted_out`, with its record.
    OptedOut,
    /// The entry no longer matches a queued job (duplicate or already moved on).
    Stale,
    /// The campaign is paused: the job is parked until it is resumed.
    Parked,
    /// The campaign is cancelled: the job ended `cancelled`, with its record.
    Cancelled,
    /// The contact is past its deadline: it ended `expired`, with its record.
    Expired,
}

/// What one pass over a shard's due work found (`Store::promote`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Promoted {
    /// Jobs made ready by this pass.
    pub promoted: usize,
    /// When the shard's next delayed job or held official is due (store
    /// clock, ms); `None`: nothing waits.
    pub next_due_ms: Option<i64>,
    /// The shard's ready streams hold entries (new or pending).
    pub ready: bool,
    /// The store's clock at the pass (ms).
    pub now_ms: i64,
}

/// The in-flight sets at a glance (`Store::in_flight_heads`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightHeads {
    /// The store's clock at the read (ms).
    pub now_ms: i64,
    /// Per shard, its earliest reconcile deadline (ms); `None`: nothing in
    /// flight there.
    pub next_deadline_ms: Vec<Option<i64>>,
    /// Jobs in flight, every shard together.
    pub count: u64,
}

/// Which limit deferred a job (the most distant one, when several did).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The official's quota.
    Official,
    /// The department's quota.
    Department,
    /// The citizen's rolling day or week cap.
    Citizen,
    /// The fleet-wide cap on live calls.
    LiveCalls,
    /// Too soon after the visit the contact is about.
    NotBefore,
}

impl Limit {
    /// The reason written on the waiting job.
    pub fn reason(&self) -> &'static str {
        match self {
            Limit::Official => "rate limited",
            Limit::Department => "department's quota",
            Limit::Citizen => "citizen's call cap reached",
            Limit::LiveCalls => "live-call cap reached",
            Limit::NotBefore => "too soon after the visit",
        }
    }
}

/// A citizen's rolling caps, across all campaigns: calls placed in the last
/// 24 hours and in the last 7 days. 0 = no cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CitizenCaps {
    pub per_day: u32,
    pub per_week: u32,
}

/// Every limit one dial decision checks, besides the campaign's state and the
/// contact's freshness, in the store's one atomic step: each is checked
/// before any is spent, so a dial refused by one spends none of the others.
#[derive(Clone, Debug, PartialEq)]
pub struct DialLimits {
    pub official: Quota,
    pub department: Option<Quota>,
    pub citizen: CitizenCaps,
    /// Calls in progress (dialling or connected) across the fleet.
    pub max_live_calls: Option<u32>,
    /// The provider's call starts per second, across the fleet.
    pub provider: Option<Quota>,
    /// When a job held by the live-call cap is looked at again.
    pub live_recheck: Duration,
}

impl DialLimits {
    /// Only the official's quota (tests, tools).
    pub fn official(quota: Quota) -> DialLimits {
        DialLimits {
            official: quota,
            department: None,
            citizen: CitizenCaps::default(),
            max_live_calls: None,
            provider: None,
            live_recheck: Duration::from_secs(1),
        }
    }
}

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

/// The result of a fenced transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Applied,
    /// The fence did not match (other attempt, other state, terminal): no-op.
    Stale,
}

/// The result of applying a provider status callback.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusApplied {
    /// Whether the job exists.
    pub known: bool,
    /// The job after the update, for a terminal status only: the caller
    /// concludes the attempt from it. Other statuses need nothing back, so
    /// the store does not read the job out for them.
    pub job: Option<Box<Job>>,
    /// Whether the status moved the call forward (false for duplicates/stale).
    pub advanced: bool,
}

/// A conclusion the caller decided from its own copy of the job
/// (`calls::LiveCalls`), to apply in the same step as the terminal status
/// that ends the call. It applies only while the job still is what the
/// decision read: the attempt live on the status's call, at IVR `step`,
/// with `dials` calls placed and (`has_answers`) answers or none.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub step: u32,
    pub dials: u32,
    pub has_answers: bool,
    pub finish: Finish,
}

/// What `apply_status_concluding` did.
#[derive(Clone, Debug, PartialEq)]
pub enum StatusConcluded {
    /// The status and the planned conclusion were applied together.
    Concluded { advanced: bool },
    /// The job is not what the plan read (or is unknown, or not live): the
    /// status was applied alone, exactly as `apply_status` does; the caller
    /// decides from the job returned.
    Applied(StatusApplied),
}

/// An IVR step to save, fenced by attempt and step.
#[derive(Clone, Debug, PartialEq)]
pub struct IvrUpdate {
    pub attempt: u32,
    /// The `ivr_step` the caller read; the save applies only if it still holds.
    pub expected_step: u32,
    /// The new session (opaque JSON).
    pub session: String,
    /// Answers captured by this step; the store stamps `at_ms` with its clock.
    pub new_answers: Vec<Answer>,
    /// The response body for this step, kept for duplicate requests.
    pub response: String,
    /// For inbound calls: whom the record will be about, once decided.
    pub attribution: Option<Attribution>,
    /// For an official's call: how the citizen's leg went, once reported
    /// (written with the step that follows it; the record carries it).
    pub bridge: Option<BridgeReport>,
}

/// The result of saving an IVR step.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveIvr {
    /// Saved; `ivr_step` is now `step`.
    Saved { step: u32 },
    /// The step was already saved (duplicate webhook): here is what we answered.
    Duplicate { response: Option<String> },
    /// The job moved on (other attempt, terminal): the call should end.
    Stale,
}

/// How an attempt ends, as decided by the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    /// Try again after `delay`: the job goes to `RetryWait` and the delayed set.
    Retry { delay: Duration, reason: String },
    /// The contact is done: the feedback record is written to the outbox.
    Terminal {
        outcome: Outcome,
        reason: Option<String>,
    },
}

/// A citizen's service visit, remembered at intake so that an inbound call
/// from the same number can be attributed to it. Stored under a keyed tag of
/// the phone number, never the number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceVisit {
    pub campaign_id: String,
    pub contact_id: String,
    pub official_id: String,
    pub department: String,
    pub office: String,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// When it was remembered (the store's clock); not part of the stored
    /// value, so remembering a visit again only refreshes its time.
    #[serde(skip)]
    pub at_ms: i64,
}

impl ServiceVisit {
    /// The visit a contact of a campaign stands for.
    pub fn of(spec: &JobSpec) -> Self {
        let c = &spec.contact;
        Self {
            campaign_id: spec.campaign_id.to_string(),
            contact_id: c.id.to_string(),
            official_id: c.official_id.to_string(),
            department: spec.department.clone(),
            office: c.office.clone(),
            service: c.service.clone(),
            language: c.language.clone(),
            at_ms: 0,
        }
    }
}

/// Whether an inbound call may be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Counted among the live inbound calls (or already was).
    Admitted,
    /// `max_live` inbound calls are already live.
    Busy,
}

/// The job of an inbound call, as `start_inbound` left it.
#[derive(Clone, Debug, PartialEq)]
pub enum InboundStart {
    /// Created now, in a call, attempt 1.
    Created(Box<Job>),
    /// Already there (a duplicate webhook): unchanged.
    Existing(Box<Job>),
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

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Number of shards (fixed for the life of the data).
    fn shards(&self) -> ShardId;
    /// The shard of an official.
    fn shard_of(&self, official: &OfficialId) -> ShardId {
        super::keys::shard_of(official, self.shards())
    }
    /// The reference of the job `spec` describes (its official's shard).
    fn job_ref_of(&self, spec: &JobSpec) -> JobRef {
        JobRef::new(self.shard_of(&spec.contact.official_id), spec.job_id())
    }
    /// The store's clock (Redis `TIME`), Unix milliseconds.
    async fn now_ms(&self) -> Result<i64>;

    // ---- intake ----
    /// Appends a document to the intake stream; returns its entry id.
    async fn submit(&self, document: &str) -> Result<String>;
    /// Reads up to `count` intake entries for `consumer`, first reclaiming
    /// entries another consumer left pending for longer than `reclaim_after`.
    /// Waits up to `block` when there is nothing (zero: does not wait).
    async fn read_intake(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>>;
    /// Acknowledges (and removes) an intake entry once fully processed.
    async fn ack_intake(&self, entry_id: &str) -> Result<()>;
    async fn dead_letter(&self, letter: &DeadLetter) -> Result<()>;
    /// The most recent dead letters, oldest first.
    async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>>;
    /// Stores a campaign header; idempotent, refuses a different header.
    async fn put_campaign(&self, header: &CampaignHeader) -> Result<PutOutcome>;
    /// Creates a queued job and makes it ready (its calling window taken as
    /// open: the dialer defers it if not); idempotent per job id, refuses a
    /// different spec. The campaign must exist.
    async fn enqueue(&self, spec: &JobSpec) -> Result<PutOutcome> {
        let mut outcomes = self
            .enqueue_batch(&[NewJob {
                spec,
                opens_at_ms: None,
            }])
            .await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::Refused("enqueue_batch answered nothing".into()))
    }
    /// Creates queued jobs, each as `enqueue` does, in as few round trips as
    /// the backend can (Redis: one pipeline), with one outcome per job in
    /// order. A job that may not be called yet (before its `not_before_ms`,
    /// or before `opens_at_ms`) is parked until then instead of being made
    /// ready (Redis: in its shard's delayed set, or before `opens_at_ms` in
    /// its campaign's park list for that opening, `Keys::park_list`).
    async fn enqueue_batch(&self, jobs: &[NewJob<'_>]) -> Result<Vec<PutOutcome>>;
    async fn campaign_status(&self, id: &CampaignId) -> Result<Option<CampaignStatus>>;
    /// The stored header of a campaign; `None`: no such campaign. A header
    /// never changes once stored (`put_campaign` refuses a different one),
    /// so a reader may keep it. Backends with a cheaper read override this.
    async fn campaign_header(&self, id: &CampaignId) -> Result<Option<CampaignHeader>> {
        Ok(self.campaign_status(id).await?.map(|status| status.header))
    }
    /// Claims `phone` for `contact` within campaign `id` (see `NumberClaim`).
    /// Numbers are keyed by their tag, never stored raw.
    async fn claim_number(
        &self,
        id: &CampaignId,
        phone: &PhoneNumber,
        contact: &ContactId,
    ) -> Result<NumberClaim> {
        let mut claims = self.claim_numbers(id, &[(phone, contact)]).await?;
        claims
            .pop()
            .ok_or_else(|| StoreError::Refused("claim_numbers answered nothing".into()))
    }
    /// `claim_number` for many contacts of campaign `id` in order (a number
    /// twice in `claims` is held by the first), in as few round trips as
    /// the backend can.
    async fn claim_numbers(
        &self,
        id: &CampaignId,
        claims: &[(&PhoneNumber, &ContactId)],
    ) -> Result<Vec<NumberClaim>>;
    /// Claims a place in `slot` for `contact`, in one atomic step: true when
    /// the contact holds one (claimed now, or earlier: idempotent), false
    /// when `cap` other contacts already hold every place.
    async fn claim_sample(&self, slot: &SampleSlot, contact: &ContactId, cap: u32) -> Result<bool>;
    /// `claim_sample` for the contacts of many slots, each slot's in order,
    /// in as few round trips as the backend can (Redis: one script call per
    /// slot, pipelined): per slot, per contact, whether it holds a place.
    async fn claim_samples(
        &self,
        claims: &[(&SampleSlot, Vec<&ContactId>)],
        cap: u32,
    ) -> Result<Vec<Vec<bool>>> {
        let mut held = Vec::with_capacity(claims.len());
        for (slot, contacts) in claims {
            let mut places = Vec::with_capacity(contacts.len());
            for contact in contacts {
                places.push(self.claim_sample(slot, contact, cap).await?);
            }
            held.push(places);
        }
        Ok(held)
    }
    /// Creates a job that ends at once in `outcome` (never dialled), with its
    /// record; idempotent per job id like `enqueue`.
    async fn enqueue_ended(
        &self,
        spec: &JobSpec,
        outcome: Outcome,
        reason: &str,
    ) -> Result<PutOutcome>;
    /// `enqueue_ended` for many contacts, in as few round trips as the
    /// backend can (Redis: one script call per shard and campaign), with
    /// one outcome per contact in order.
    async fn enqueue_ended_batch(&self, jobs: &[EndedJob<'_>]) -> Result<Vec<PutOutcome>> {
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            outcomes.push(
                self.enqueue_ended(job.spec, job.outcome, job.reason)
                    .await?,
            );
        }
        Ok(outcomes)
    }
    /// Adds what ingesting intake entry `entry` did to campaign `id`'s
    /// tally, keeping the newest `KEPT_REFUSALS` refusals; `false` (nothing
    /// changed) when that entry was counted before. The campaign need not
    /// exist: a campaign whose documents were all refused has a tally too.
    async fn record_intake(
        &self,
        id: &CampaignId,
        entry: &str,
        tally: &IntakeTally,
    ) -> Result<bool>;
    /// Campaign `id`'s intake tally; `None` when no entry was counted for it.
    async fn intake_stats(&self, id: &CampaignId) -> Result<Option<IntakeStats>>;
    /// Every campaign ever stored.
    async fn campaigns(&self) -> Result<Vec<CampaignId>>;
    /// Why the campaign's contacts that are not being dialled wait, and
    /// until when: its jobs in the delayed sets grouped by reason (retry
    /// delay, calling hours, an official's quota, a citizen's cap, …) and
    /// its parked jobs. Scans the delayed sets: for operators, not for hot
    /// paths.
    async fn waiting(&self, id: &CampaignId) -> Result<Waiting>;
    /// Applies an operator's command on every shard: pause (new dials stop,
    /// waiting jobs are parked as they are read), resume (parked jobs go back
    /// to the ready streams; a cancelled campaign stays cancelled), cancel
    /// (every waiting job ends `cancelled` with its record). Idempotent.
    /// `None`: no such campaign.
    async fn control_campaign(
        &self,
        id: &CampaignId,
        action: CampaignAction,
    ) -> Result<Option<CampaignState>>;
    /// The in-flight jobs (dialling or in a call) of a campaign, all shards.
    async fn in_flight_of(&self, id: &CampaignId) -> Result<Vec<JobRef>>;
    /// Campaigns cancelled with `hangup` whose calls may still be live.
    async fn hangup_requests(&self) -> Result<Vec<CampaignId>>;
    /// A cancelled campaign has no call left to hang up.
    async fn hangup_done(&self, id: &CampaignId) -> Result<()>;
    async fn load_job(&self, job: &JobRef) -> Result<Option<Job>>;

    // ---- dialling ----
    /// Makes a shard's due work ready (at most `max` of each kind): delayed
    /// jobs whose time came, and the head of each official's held queue once
    /// the official's GCRA allows it (one job per official at a time).
    /// Reports when the shard's next waiting work is due.
    async fn promote(&self, shard: ShardId, max: usize) -> Result<Promoted>;
    /// `promote`, counting only what it made ready.
    async fn promote_due(&self, shard: ShardId, max: usize) -> Result<usize> {
        Ok(self.promote(shard, max).await?.promoted)
    }
    /// Reads ready entries of `shards` for `consumer` (reclaiming entries
    /// left pending longer than `reclaim_after`), at most `count` per shard.
    async fn read_ready_from(
        &self,
        shards: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>>;
    /// `read_ready_from` every shard.
    async fn read_ready(
        &self,
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>> {
        let all: Vec<ShardId> = (0..self.shards()).collect();
        self.read_ready_from(&all, consumer, count, reclaim_after)
            .await
    }
    /// Where this store tells this instance's dialer that work became due
    /// (`store/work.rs`).
    fn work_signal(&self) -> &crate::store::WorkSignal;
    /// Decides a ready entry in one atomic step: campaign state, freshness,
    /// do-not-call and opt-out, the citizen's caps, the department's and the
    /// official's quotas, the live-call cap and the provider's rate. Granted,
    /// the job becomes `Dialing` (attempt + 1, in flight until now + `lease`)
    /// and every unit is spent; held, it is delayed to the exact time the
    /// limits allow. Every verdict but `ProviderBusy` consumes the entry.
    async fn authorize(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<Authorize> {
        Ok(self.authorize_and_look(entry, limits, lease).await?.0)
    }
    /// `authorize`, and what the decision left the entry's shard holding (its
    /// next due work and whether its ready streams hold entries, as
    /// `promote` reports them, nothing promoted) when the store learns it
    /// in the same step: the dialer then need not look at the shard again
    /// to learn it. `None`: look (on a Redis Cluster when the provider's
    /// rate kept the entry in hand: no step on the shard was taken).
    async fn authorize_and_look(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, Option<Promoted>)>;
    /// Consumes a ready entry without dialling: the queued job waits in the
    /// delayed set until `until_ms` (e.g. outside calling hours).
    async fn defer(&self, entry: &ReadyEntry, until_ms: i64, reason: &str) -> Result<Transition>;
    /// Gives back the citizen-cap unit `job`'s current attempt took when its
    /// call was never placed (throttled, refused, given back, found never
    /// placed). Idempotent.
    async fn citizen_refund(&self, job: &Job) -> Result<()>;
    /// Records a citizen's wish not to be called again (all campaigns).
    async fn record_opt_out(&self, phone: &PhoneNumber) -> Result<()>;

    // ---- the do-not-call list (numbers stored only as citizen tags) ----
    /// Puts numbers on the list, in order (a number given twice ends with
    /// the later entry), each entry atomically; one verdict per request.
    /// Pipelined on Redis: for lists of any size.
    async fn dnc_put(&self, requests: &[DncRequest]) -> Result<Vec<DncWrite>>;
    /// Takes a number off the list; `false`: it was not on it.
    async fn dnc_remove(&self, phone: &PhoneNumber) -> Result<bool>;
    /// The number's live entry, if any (a lapsed entry is none).
    async fn dnc_check(&self, phone: &PhoneNumber) -> Result<Option<DncEntry>>;
    /// How many live entries the list holds.
    async fn dnc_count(&self) -> Result<u64>;
    /// `Dialing` → `InCall` with the call id; in flight until now + `lease`.
    async fn mark_originated(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        lease: Duration,
    ) -> Result<Transition>;
    /// `Dialing` (nothing placed) → `Queued` via the delayed set after `delay`.
    async fn requeue(
        &self,
        job: &JobRef,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<Transition>;
    /// Applies a status callback for an attempt (ranked; never backwards).
    async fn apply_status(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> Result<StatusApplied>;
    /// `apply_status` of a terminal `status` and, in the same atomic step,
    /// `planned` (as `finish` with its step) when the job still is as the
    /// plan read it: one round trip for the event that ends a call.
    async fn apply_status_concluding(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: &Planned,
    ) -> Result<StatusConcluded>;
    /// Saves an IVR step (fenced by attempt and step).
    async fn save_ivr(&self, job: &JobRef, update: &IvrUpdate) -> Result<SaveIvr>;
    /// Ends an attempt of a `Dialing`/`InCall` job. With `expected_step`, it
    /// applies only if no IVR step was saved since the caller's snapshot.
    async fn finish(
        &self,
        job: &JobRef,
        attempt: u32,
        expected_step: Option<u32>,
        finish: &Finish,
    ) -> Result<Transition>;
    /// The current attempt of each job that is dialling or in a call, in
    /// order (`None`: gone, waiting or ended): what shutdown needs to know
    /// of the calls it placed, in one pipelined read of two fields each.
    async fn live_attempts(&self, jobs: &[JobRef]) -> Result<Vec<Option<u32>>>;
    /// Jobs of a shard whose in-flight deadline passed: `(job, attempt)`.
    async fn due_in_flight(&self, shard: ShardId, max: usize) -> Result<Vec<(JobRef, u32)>>;
    /// Jobs dialling or in a call right now, across all shards (for the
    /// fleet-wide in-flight gauge).
    async fn in_flight_count(&self) -> Result<u64>;
    /// The earliest in-flight deadline of every shard and the number of
    /// jobs in flight, in one read: what the reconciler sleeps until
    /// (`dialer/reconcile.rs`).
    async fn in_flight_heads(&self) -> Result<InFlightHeads>;

    // ---- instances (see `daemon/heartbeat.rs`) ----
    /// Instance `name` is alive, at the store's clock; instances silent for
    /// longer than `forget_after` are forgotten.
    async fn heartbeat(&self, name: &str, forget_after: Duration) -> Result<()>;
    /// The instances heard from, the most recent first; one that stopped
    /// stays listed, its idle time growing, until forgotten.
    async fn instances(&self) -> Result<Vec<InstanceSeen>>;
    /// Pushes an in-flight deadline to now + `lease` (fenced by attempt).
    async fn extend_lease(&self, job: &JobRef, attempt: u32, lease: Duration)
    -> Result<Transition>;

    // ---- inbound calls ----
    /// Remembers a citizen's visit for `keep`; the same visit (campaign and
    /// contact) remembered again is refreshed, not duplicated. Visits older
    /// than `keep` are forgotten.
    async fn record_visit(
        &self,
        phone: &PhoneNumber,
        visit: &ServiceVisit,
        keep: Duration,
    ) -> Result<()>;
    /// `record_visit` for many citizens, in as few round trips as the
    /// backend can (Redis: pipelined).
    async fn record_visits(
        &self,
        visits: &[(&PhoneNumber, ServiceVisit)],
        keep: Duration,
    ) -> Result<()> {
        for (phone, visit) in visits {
            self.record_visit(phone, visit, keep).await?;
        }
        Ok(())
    }
    /// The citizen's visits remembered within `within`, newest first, at
    /// most `max`.
    async fn recent_visits(
        &self,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Result<Vec<ServiceVisit>>;
    /// Counts inbound call `call_sid` among the fleet's live inbound calls
    /// unless `max_live` already are (an entry older than `hold` no longer
    /// counts). Idempotent per call.
    async fn admit_inbound(
        &self,
        call_sid: &str,
        max_live: u32,
        hold: Duration,
    ) -> Result<Admission>;
    /// Stops counting an inbound call as live; idempotent.
    async fn release_inbound(&self, call_sid: &str) -> Result<()>;
    /// Creates the job of an inbound call in progress: `InCall`, attempt 1,
    /// one call placed (`call_sid`, status in progress), in flight until
    /// now + `lease`; its record is about `about` until an IVR save says
    /// otherwise. Idempotent: an existing job is returned unchanged.
    async fn start_inbound(
        &self,
        job: &JobRef,
        spec: &JobSpec,
        about: &Attribution,
        call_sid: &str,
        lease: Duration,
    ) -> Result<InboundStart>;

    // ---- results ----
    /// Moves up to `max` records from a shard's outbox to the feedback
    /// stream, each with its escalation when it raised a flag `rules`
    /// escalate (in the same step: never one without the other).
    async fn relay_feedback(
        &self,
        shard: ShardId,
        max: usize,
        rules: &ScoringRules,
    ) -> Result<usize>;
    /// Reads the feedback stream after `cursor` (`"0"` for the start):
    /// `(entry id, record)` pairs.
    async fn read_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<(String, FeedbackRecord)>>;

    /// Like `read_feedback`, but an entry that is not a record (written by
    /// hand, or by a newer version) is returned as its problem instead of
    /// failing the whole read, so a consumer can step over it.
    async fn scan_feedback(&self, cursor: &str, count: usize) -> Result<Vec<FeedbackEntry>>;

    // ---- escalations (written by `relay_feedback`) ----
    /// Escalations matching `query`: open ones first (most urgent, then
    /// newest), then acknowledged ones, newest first.
    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<EscalationView>>;
    /// One escalation by id.
    async fn escalation(&self, id: &str) -> Result<Option<EscalationView>>;
    /// Acknowledges an escalation once: a second acknowledgement changes
    /// nothing and returns the first.
    async fn ack_escalation(&self, id: &str, ack: &Acknowledgement) -> Result<AckOutcome>;

    // ---- scorecards (see `accountability::scorer`) ----
    /// The feedback stream entry the scorecards have counted up to (`0-0`
    /// before the first).
    async fn score_cursor(&self) -> Result<String>;
    /// Adds `updates` to the scorecards and moves the cursor from `expected`
    /// to `next`, in one step, only if the cursor is still `expected`
    /// (another instance did not count this batch first): `false` if not.
    async fn apply_scores(
        &self,
        expected: &str,
        next: &str,
        updates: &[ScoreUpdate],
    ) -> Result<bool>;
    /// Forgets every scorecard and sets the cursor back to the start, in one
    /// step, so they are counted again from the feedback stream.
    async fn reset_scores(&self) -> Result<()>;
    /// The days that have scorecards, in order.
    async fn score_days(&self) -> Result<Vec<Date>>;
    /// Every `by` scorecard of each of `days`.
    async fn read_scores(&self, by: Dimension, days: &[Date]) -> Result<Vec<DayScore>>;

    // ---- the officials' registry (see `registry`) ----
    /// Puts officials into the registry in one atomic step: each is created,
    /// replaced (`updated`) or found identical (`unchanged`). An official
    /// given twice counts twice, the later one winning.
    async fn put_officials(&self, officials: &[Official]) -> Result<ImportSummary>;
    /// One official; `None`: not in the registry.
    async fn official(&self, id: &OfficialId) -> Result<Option<Official>>;
    /// The officials `query` matches, sorted by official id. Reads the whole
    /// registry (thousands of officials): for operators and start-up, not
    /// for each call.
    async fn officials(&self, query: &OfficialQuery) -> Result<Vec<Official>>;
    /// Takes an official out of the registry; `false`: it was not in it.
    async fn remove_official(&self, id: &OfficialId) -> Result<bool>;

    // ---- data guard (Redis that came back empty; see guard.rs) ----
    /// The backend's persistence check and epoch marker, if it can lose its
    /// data behind the daemon's back (Redis; not the in-memory store, whose
    /// data lives and dies with the process).
    fn data_guard(&self) -> Option<&dyn super::guard::DataGuard> {
        None
    }

    /// Where instances leave each other wakes (`store/work.rs`), if the
    /// backend is shared between processes (Redis; not the in-memory store).
    fn wake_feed(&self) -> Option<&dyn super::WakeFeed> {
        None
    }
}
