//! The store's values of queued jobs and dial decisions: references,
//! intake's new jobs and their outcomes, ready entries, the decision and
//! the limits it applies.

use std::sync::Arc;
use std::time::Duration;

use super::ShardId;
use crate::domain::{
    Answer, Attribution, BridgeReport, CallStatus, ContactId, JobId, JobSpec, JobState, OfficialId,
    Outcome,
};

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
