//! The whole in-memory data model, and the operations that do not move a job
//! through its lifecycle (intake, campaigns, enqueue, citizens, results).
//!
//! Owns: the `State` struct mirroring the Redis keys of `store::keys` (the
//! counts kept in step with every state change are in `counts.rs`). Does
//! not own: locking or the clock — every method is synchronous and takes
//! `Now`, so each call is one atomic step under the caller's lock, and tests
//! can drive time by hand. Lifecycle transitions live in `dial.rs`/`call.rs`.

use std::collections::{HashMap, HashSet};

use super::citizen::Citizens;
pub(super) use super::counts::{Counts, count_new, set_state};
use super::intake_tally::IntakeTallies;
use super::stream::{EntryId, Stream};
use super::timeset::TimeSet;
use crate::domain::{
    CampaignHeader, CampaignId, ContactId, FeedbackRecord, JobId, JobSpec, JobState, OfficialId,
    Outcome, PhoneNumber,
};
use crate::store::keys::shard_of;
use crate::store::{
    CampaignState, CampaignStatus, DeadLetter, IntakeEntry, Job, JobRef, NewJob, NumberClaim,
    Promoted, PutOutcome, ReadyEntry, Result, SampleSlot, ServiceVisit, ShardId, StoreError,
};

/// One reading of the store's clock, in both units the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Now {
    pub us: i64,
    pub ms: i64,
}

impl Now {
    pub fn from_us(us: i64) -> Self {
        Self {
            us,
            ms: us.div_euclid(1000),
        }
    }

    /// `now + d` in milliseconds, saturating (a huge lease means "never").
    pub fn ms_after(self, d: std::time::Duration) -> i64 {
        self.ms
            .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// The per-shard structures (one Redis hash tag each).
#[derive(Debug, Default)]
pub(super) struct Shard {
    /// Ready stream; each entry names a job and its official.
    pub ready: Stream<(JobId, OfficialId)>,
    /// Ready stream of urgent campaigns' jobs, read first.
    pub urgent: Stream<(JobId, OfficialId)>,
    pub delayed: TimeSet,
    pub inflight: TimeSet,
    /// Feedback records as JSON, as the Redis outbox holds them.
    pub outbox: Stream<String>,
    /// Per-official GCRA theoretical arrival time, microseconds.
    pub gcra: HashMap<OfficialId, i64>,
    /// Each official's jobs held by its GCRA, in order (job, urgent).
    pub held: HashMap<OfficialId, std::collections::VecDeque<(JobId, bool)>>,
    /// Official → when its held queue's head may be promoted (ms), while
    /// the queue is not empty.
    pub sched: TimeSet<OfficialId>,
}

impl Shard {
    /// The ready stream an entry of `urgent`'s kind lives in.
    pub fn ready_of(&mut self, urgent: bool) -> &mut Stream<(JobId, OfficialId)> {
        if urgent {
            &mut self.urgent
        } else {
            &mut self.ready
        }
    }

    /// A job that may be called now (as `enqueue.lua`): a ready entry if its
    /// official has nothing waiting (the official then scheduled a
    /// promotion lease ahead, until the entry is decided), else behind the
    /// official in its held queue (an urgent campaign's at the head, in
    /// batch order: `fronts` counts the batch's urgent jobs already put at
    /// the head of each official's queue).
    pub fn add_waiting(&mut self, now_ms: i64, job: &Job, fronts: &mut HashMap<OfficialId, usize>) {
        let official = &job.spec.contact.official_id;
        if self.sched.score(official).is_none() {
            self.add_ready(now_ms, job);
            self.sched
                .insert(official, now_ms + super::dial::PROMOTION_LEASE_MS);
            return;
        }
        let urgent = job.spec.priority.is_urgent();
        let queue = self.held.entry(official.clone()).or_default();
        if urgent {
            let at = fronts.entry(official.clone()).or_default();
            queue.insert(*at, (job.id.clone(), true));
            *at += 1;
        } else {
            queue.push_back((job.id.clone(), false));
        }
    }

    /// What the shard holds, as a promotion pass reports it (`promoted`:
    /// the jobs the pass made ready): its next due work, whether its ready
    /// streams hold entries.
    pub fn looked(&self, promoted: usize, now_ms: i64) -> Promoted {
        Promoted {
            promoted,
            next_due_ms: [self.delayed.first(), self.sched.first()]
                .into_iter()
                .flatten()
                .min(),
            ready: self.ready.len() + self.urgent.len() > 0,
            now_ms,
        }
    }

    /// A ready entry for `job`, in its campaign's stream.
    pub fn add_ready(&mut self, now_ms: i64, job: &Job) {
        self.ready_of(job.spec.priority.is_urgent()).add(
            now_ms,
            (job.id.clone(), job.spec.contact.official_id.clone()),
        );
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub shards: Vec<Shard>,
    pub jobs: HashMap<JobId, Job>,
    pub counts: Counts,
    intake: Stream<String>,
    dead_letters: Stream<DeadLetter>,
    campaigns: HashMap<CampaignId, CampaignHeader>,
    /// Feedback records as JSON, parsed on read like the Redis stream.
    feedback: Stream<String>,
    /// Citizens are keyed by their tag, never by the number itself.
    pub citizens: Citizens,
    /// Per-department GCRA theoretical arrival time, microseconds.
    pub department_gcra: HashMap<String, i64>,
    /// Remembered visits per citizen tag, with when each was remembered.
    pub visits: HashMap<String, Vec<ServiceVisit>>,
    /// Live inbound calls: call id → when the entry stops counting (ms).
    pub inbound_live: HashMap<String, i64>,
    /// Operators' states of campaigns (absent: active).
    pub campaign_states: HashMap<CampaignId, CampaignState>,
    /// A paused campaign's parked jobs.
    pub parked: HashMap<CampaignId, Vec<JobId>>,
    /// Campaigns cancelled with `hangup` whose calls may still be live.
    pub hangup_requests: HashSet<CampaignId>,
    /// The provider's calls-per-second GCRA state (TAT, microseconds).
    pub provider_tat: Option<i64>,
    /// Each campaign's numbers (by tag), the contact that holds each, and
    /// whether that contact has ended (its record relayed).
    numbers: HashMap<(CampaignId, String), (ContactId, bool)>,
    /// The tag of the number each contact holds (an ended job keeps no
    /// number to find it by; Redis keeps the tag in the job hash).
    held: HashMap<JobId, String>,
    /// Ended jobs whose record was relayed, by when they are removed (ms):
    /// the retention (`MemoryStore::with_retention`).
    pub expiring: std::collections::BTreeMap<(i64, JobId), ()>,
    /// How long an ended job is kept once its record was relayed.
    pub retention_ms: i64,
    /// The contacts holding a place in each (campaign, office, day) of a
    /// `max_per_office_per_day` sample.
    samples: HashMap<SampleSlot, HashSet<ContactId>>,
    /// Each campaign's intake tally.
    pub intake_tallies: IntakeTallies,
    /// Escalations and scorecards.
    pub accountability: super::accountability::Accountability,
    /// Each instance's last heartbeat (ms).
    pub instances: HashMap<String, i64>,
    /// The officials' registry.
    pub registry: super::registry::Registry,
}

impl State {
    pub fn new(shards: ShardId) -> Self {
        Self {
            shards: (0..shards.max(1)).map(|_| Shard::default()).collect(),
            jobs: HashMap::new(),
            counts: Counts::default(),
            intake: Stream::default(),
            dead_letters: Stream::default(),
            campaigns: HashMap::new(),
            feedback: Stream::default(),
            citizens: Citizens::default(),
            department_gcra: HashMap::new(),
            visits: HashMap::new(),
            inbound_live: HashMap::new(),
            campaign_states: HashMap::new(),
            parked: HashMap::new(),
            hangup_requests: HashSet::new(),
            numbers: HashMap::new(),
            held: HashMap::new(),
            expiring: Default::default(),
            retention_ms: 7 * 24 * 3_600_000,
            samples: HashMap::new(),
            provider_tat: None,
            intake_tallies: IntakeTallies::default(),
            instances: HashMap::new(),
            accountability: Default::default(),
            registry: Default::default(),
        }
    }

    pub fn shard_count(&self) -> ShardId {
        // INVARIANT: built from a ShardId range in `new`.
        self.shards.len() as ShardId
    }

    pub fn shard_mut(&mut self, shard: ShardId) -> Result<&mut Shard> {
        let count = self.shards.len();
        self.shards.get_mut(usize::from(shard)).ok_or_else(|| {
            StoreError::Refused(format!("shard {shard} is out of range (0..{count})"))
        })
    }

    // ---- intake ----

    pub fn submit(&mut self, now: Now, document: &str) -> String {
        self.intake.add(now.ms, document.to_owned()).to_string()
    }

    pub fn read_intake(
        &mut self,
        now: Now,
        consumer: &str,
        count: usize,
        reclaim_after_ms: i64,
    ) -> Vec<IntakeEntry> {
        self.intake
            .read(consumer, count, now.ms, reclaim_after_ms)
            .into_iter()
            .map(|(id, doc)| IntakeEntry::document(id.to_string(), doc))
            .collect()
    }

    pub fn ack_intake(&mut self, entry_id: &str) -> Result<()> {
        self.intake.ack(parse_id(entry_id)?);
        Ok(())
    }

    pub fn dead_letter(&mut self, now: Now, letter: &DeadLetter) {
        self.dead_letters.add(now.ms, letter.masked());
    }

    pub fn dead_letters(&self, count: usize) -> Vec<DeadLetter> {
        self.dead_letters.last(count)
    }

    // ---- campaigns and jobs ----

    pub fn put_campaign(&mut self, header: &CampaignHeader) -> PutOutcome {
        match self.campaigns.get(&header.id) {
            None => {
                self.campaigns.insert(header.id.clone(), header.clone());
                PutOutcome::Created
            }
            Some(existing) if existing == header => PutOutcome::Unchanged,
            Some(_) => PutOutcome::Conflict,
        }
    }

    /// `enqueue_batch` of one job.
    #[cfg(test)]
    pub fn enqueue(&mut self, now: Now, spec: &JobSpec, opens_at_ms: Option<i64>) -> PutOutcome {
        self.enqueue_in_batch(now, spec, opens_at_ms, &mut HashMap::new())
    }

    /// Creates a batch's queued jobs, in order (see `Store::enqueue_batch`):
    /// each ready, held behind its official (urgent ones at the head of the
    /// official's queue, in batch order), or parked in the delayed set
    /// until its `not_before_ms` or `opens_at_ms`.
    pub fn enqueue_batch(&mut self, now: Now, jobs: &[NewJob<'_>]) -> Vec<PutOutcome> {
        let mut fronts = HashMap::new();
        jobs.iter()
            .map(|job| self.enqueue_in_batch(now, job.spec, job.opens_at_ms, &mut fronts))
            .collect()
    }

    fn enqueue_in_batch(
        &mut self,
        now: Now,
        spec: &JobSpec,
        opens_at_ms: Option<i64>,
        fronts: &mut HashMap<OfficialId, usize>,
    ) -> PutOutcome {
        let id = spec.job_id();
        if let Some(existing) = self.jobs.get(&id) {
            return replay_outcome(existing, spec);
        }
        let official = spec.contact.official_id.clone();
        let shard = shard_of(&official, self.shard_count());
        let mut job = new_job(spec, shard, now);
        count_new(&mut self.counts, &job);
        let not_before = spec.not_before_ms.filter(|&t| t > now.ms);
        let parked = match (not_before, opens_at_ms.filter(|&t| t > now.ms)) {
            (nbf, Some(open)) if open > nbf.unwrap_or(now.ms) => {
                Some((open, "outside calling hours"))
            }
            (Some(nbf), _) => Some((nbf, "too soon after the visit")),
            (None, _) => None,
        };
        let shard = &mut self.shards[usize::from(shard)];
        match parked {
            Some((due, reason)) => {
                shard.delayed.insert(&job.id, due);
                job.reason = Some(reason.to_owned());
            }
            None => shard.add_waiting(now.ms, &job, fronts),
        }
        self.jobs.insert(id, job);
        PutOutcome::Created
    }

    /// A job that ends at once in `outcome`, never dialled, with its record.
    pub fn enqueue_ended(
        &mut self,
        now: Now,
        spec: &JobSpec,
        outcome: Outcome,
        reason: &str,
    ) -> Result<PutOutcome> {
        let id = spec.job_id();
        if let Some(existing) = self.jobs.get(&id) {
            return Ok(replay_outcome(existing, spec));
        }
        let shard = shard_of(&spec.contact.official_id, self.shard_count());
        let mut job = new_job(spec, shard, now);
        count_new(&mut self.counts, &job);
        let outbox = &mut self.shards[usize::from(shard)].outbox;
        super::call::end_waiting(&mut self.counts, outbox, &mut job, outcome, reason, now)?;
        self.jobs.insert(id, job);
        Ok(PutOutcome::Created)
    }

    /// Claims a number for a contact within a campaign (see `Store`).
    pub fn claim_number(
        &mut self,
        id: &CampaignId,
        phone: &PhoneNumber,
        contact: &ContactId,
    ) -> NumberClaim {
        let tag = self.citizens.tag(phone);
        let (holder, ended) = self
            .numbers
            .entry((id.clone(), tag.clone()))
            .or_insert_with(|| (contact.clone(), false));
        if holder == contact {
            self.held
                .insert(JobId::new(id.clone(), contact.clone()), tag);
        }
        match (holder == contact, *ended) {
            (true, false) => NumberClaim::Holds,
            (true, true) => NumberClaim::Ended,
            (false, _) => NumberClaim::HeldBy(holder.clone()),
        }
    }

    /// Retention, once a job's record is relayed: the number it held in its
    /// campaign is marked ended (a replay never calls it again), and the job
    /// is removed after the retention.
    fn retire(&mut self, now: Now, job: &JobId) {
        if let Some(tag) = self.held.remove(job)
            && let Some((holder, done)) = self.numbers.get_mut(&(job.campaign.clone(), tag))
            && holder == &job.contact
        {
            *done = true;
        }
        self.expiring
            .insert((now.ms.saturating_add(self.retention_ms), job.clone()), ());
    }

    /// Removes the ended jobs whose retention ran out.
    pub fn expire_jobs(&mut self, now: Now) {
        while let Some(entry) = self.expiring.first_entry() {
            if entry.key().0 > now.ms {
                break;
            }
            let ((_, job), ()) = entry.remove_entry();
            self.jobs.remove(&job);
        }
    }

    /// Claims a place in a sample slot for a contact (see `Store`): a member
    /// keeps its place; a newcomer gets one while fewer than `cap` are taken.
    pub fn claim_sample(&mut self, slot: &SampleSlot, contact: &ContactId, cap: u32) -> bool {
        let members = self.samples.entry(slot.clone()).or_default();
        if members.contains(contact) {
            return true;
        }
        if members.len() >= usize::try_from(cap).unwrap_or(usize::MAX) {
            return false;
        }
        members.insert(contact.clone());
        true
    }

    pub fn campaigns(&self) -> Vec<CampaignId> {
        let mut ids: Vec<CampaignId> = self.campaigns.keys().cloned().collect();
        ids.sort();
        ids
    }

    pub fn campaign_header(&self, id: &CampaignId) -> Option<CampaignHeader> {
        self.campaigns.get(id).cloned()
    }

    pub fn campaign_status(&self, id: &CampaignId) -> Option<CampaignStatus> {
        let header = self.campaigns.get(id)?.clone();
        let (counts, officials) = self.counts.of_campaign(id);
        let state = self
            .campaign_states
            .get(id)
            .copied()
            .unwrap_or(CampaignState::Active);
        Some(CampaignStatus {
            header,
            state,
            counts,
            officials,
        })
    }

    pub fn load_job(&self, r: &JobRef) -> Option<Job> {
        let id = &r.id;
        self.jobs.get(id).filter(|j| j.shard == r.shard).cloned()
    }

    /// Reads up to `count` entries per shard of `from` (reclaimed first,
    /// then new).
    pub fn read_ready(
        &mut self,
        now: Now,
        from: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after_ms: i64,
    ) -> Vec<ReadyEntry> {
        let mut out = Vec::new();
        for (index, shard) in self.shards.iter_mut().enumerate() {
            if !from.iter().any(|&s| usize::from(s) == index) {
                continue;
            }
            for urgent in [true, false] {
                let room = count.saturating_sub(
                    out.iter()
                        .filter(|e: &&ReadyEntry| usize::from(e.shard) == index)
                        .count(),
                );
                let entries = shard
                    .ready_of(urgent)
                    .read(consumer, room, now.ms, reclaim_after_ms);
                for (id, (job, official)) in entries {
                    let spec = self.jobs.get(&job).map(|j| &j.spec);
                    out.push(ReadyEntry {
                        citizen: spec.map(|s| self.citizens.tag(&s.contact.phone)),
                        department: spec.map(|s| s.department.clone()),
                        // INVARIANT: `shards` has at most ShardId::MAX entries.
                        shard: index as ShardId,
                        entry_id: id.to_string(),
                        job,
                        official,
                        urgent,
                    });
                }
            }
        }
        out
    }

    // ---- citizens ----

    pub fn record_opt_out(&mut self, phone: &PhoneNumber) {
        self.citizens.record_opt_out(phone);
    }

    // ---- results ----

    /// Moves up to `max` outbox records to the feedback stream. In memory the
    /// move is one critical section, so no record can be relayed twice.
    pub fn relay_feedback(
        &mut self,
        now: Now,
        shard: ShardId,
        max: usize,
        rules: &crate::domain::ScoringRules,
    ) -> Result<usize> {
        self.expire_jobs(now);
        let records = self.shard_mut(shard)?.outbox.drain_front(max);
        let moved = records.len();
        for (_, record) in records {
            if let Ok(parsed) = serde_json::from_str::<FeedbackRecord>(&record)
                && let Ok(job) = JobId::parse(&parsed.record_id)
            {
                self.retire(now, &job);
            }
            self.accountability.escalate(&record, rules);
            self.feedback.add(now.ms, record);
        }
        Ok(moved)
    }

    pub fn scan_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<crate::store::FeedbackEntry>> {
        let cursor = parse_id(cursor)?;
        Ok(self
            .feedback
            .after_cursor(cursor, count)
            .into_iter()
            .map(|(id, json)| {
                (
                    id.to_string(),
                    serde_json::from_str(&json).map_err(|e| e.to_string()),
                )
            })
            .collect())
    }

    pub fn read_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<(String, FeedbackRecord)>> {
        let cursor = parse_id(cursor)?;
        self.feedback
            .after_cursor(cursor, count)
            .into_iter()
            .map(|(id, json)| {
                let record = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                    key: format!("feedback {id}"),
                    detail: e.to_string(),
                })?;
                Ok((id.to_string(), record))
            })
            .collect()
    }
}

/// Parses a stream id, refusing malformed ones as Redis does.
pub(super) fn parse_id(id: &str) -> Result<EntryId> {
    id.parse().map_err(StoreError::Refused)
}

/// A queued job for `spec`, never dialled.
/// What enqueueing `spec` again finds in `existing`: the same contact
/// (numbers left out once it ended, since an ended job keeps none) or
/// another one.
fn replay_outcome(existing: &Job, spec: &JobSpec) -> PutOutcome {
    let same = if existing.state.is_terminal() {
        let mut erased = spec.clone();
        erased.contact.phone = PhoneNumber::erased();
        if let Some(call) = &mut erased.official_call {
            call.phone = PhoneNumber::erased();
        }
        *existing.spec == erased
    } else {
        *existing.spec == *spec
    };
    if same {
        PutOutcome::Unchanged
    } else {
        PutOutcome::Conflict
    }
}

fn new_job(spec: &JobSpec, shard: ShardId, now: Now) -> Job {
    Job {
        id: spec.job_id(),
        shard,
        spec: spec.clone().into(),
        state: JobState::Queued,
        attempt: 0,
        dials: 0,
        call_sid: None,
        past_call_sids: Vec::new(),
        status_rank: 0,
        call_status: None,
        ivr: None,
        attribution: None,
        bridge: None,
        ivr_step: 0,
        answers: Vec::new(),
        last_response: None,
        reason: None,
        queued_at_ms: now.ms,
        first_dialled_at_ms: None,
        dial_started_at_ms: None,
        updated_at_ms: now.ms,
    }
}
