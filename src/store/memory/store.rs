//! `MemoryStore`: the `Store` trait over one mutex-guarded `State`.
//!
//! Owns: locking (a std `Mutex`, never held across an `.await`), reading
//! the clock (`clock.rs`: system time, or tokio's for controlled-time tests)
//! inside the lock so operations are ordered in time the way Redis scripts
//! are, and the wake-up of blocked intake readers. Does not own: any
//! data-model rule (see `state.rs`, `dial.rs`, `call.rs`).

use std::pin::pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::clock::MemoryClock;
use super::state::{Now, State};
use crate::domain::scorecard::{Dimension, ScoreUpdate};
use crate::domain::{Acknowledgement, EscalationView, ScoringRules};
use crate::domain::{
    Attribution, CallStatus, CampaignHeader, CampaignId, ContactId, FeedbackRecord, JobSpec,
    JobState, Outcome, PhoneNumber,
};
use crate::domain::{Official, OfficialId};
use crate::store::{AckOutcome, DayScore, EscalationQuery, FeedbackEntry, InstanceSeen};
use crate::store::{
    Admission, Authorize, CampaignAction, CampaignState, CampaignStatus, DeadLetter, DialLimits,
    DncEntry, DncRequest, DncWrite, Finish, InFlightHeads, InboundStart, IntakeEntry, IntakeStats,
    IntakeTally, IvrUpdate, Job, JobRef, NewJob, NumberClaim, PutOutcome, ReadyEntry, Result,
    SampleSlot, SaveIvr, ServiceVisit, ShardId, StatusApplied, Store, StoreError, Transition,
    Waiting, wait_reason,
};
use crate::store::{
    ImportSummary, Limit, OfficialQuery, Planned, Promoted, StatusConcluded, WorkSignal,
};
use jiff::civil::Date;

/// The in-memory backend. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct MemoryStore {
    shards: ShardId,
    state: Mutex<State>,
    clock: MemoryClock,
    /// Wakes `read_intake` callers blocked waiting for a submit.
    intake_added: Notify,
    /// Wakes this instance's dialer when a transition makes work due.
    work: WorkSignal,
}

impl MemoryStore {
    /// An empty store with `shards` shards (at least one), on the system clock.
    pub fn new(shards: u16) -> MemoryStore {
        Self::with_clock(shards, MemoryClock::System)
    }

    /// An empty store reading the time from `clock`.
    pub fn with_clock(shards: u16, clock: MemoryClock) -> MemoryStore {
        let shards = shards.max(1);
        MemoryStore {
            shards,
            state: Mutex::new(State::new(shards)),
            clock,
            intake_added: Notify::new(),
            work: WorkSignal::default(),
        }
    }

    /// The same store keeping an ended job for `retention` after its record
    /// was relayed (`policy.retention_hours`; default 7 days), as the Redis
    /// store does.
    pub fn with_retention(self, retention: std::time::Duration) -> MemoryStore {
        if let Ok(mut state) = self.state.lock() {
            state.retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        }
        self
    }

    /// Runs one atomic step with the clock read under the lock.
    fn with<R>(&self, step: impl FnOnce(&mut State, Now) -> R) -> Result<R> {
        let mut state = self.state.lock().map_err(|_: PoisonError<_>| {
            // A panic inside a step may have left it half applied; refusing
            // from then on is safer than serving possibly broken state.
            StoreError::Refused("memory store poisoned by an earlier panic".into())
        })?;
        Ok(step(&mut state, Now::from_us(self.clock.now_us())))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Store for MemoryStore {
    fn shards(&self) -> ShardId {
        self.shards
    }

    async fn now_ms(&self) -> Result<i64> {
        self.with(|_, now| now.ms)
    }

    async fn submit(&self, document: &str) -> Result<String> {
        let id = self.with(|s, now| s.submit(now, document))?;
        self.intake_added.notify_waiters();
        Ok(id)
    }

    async fn read_intake(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>> {
        let deadline = tokio::time::Instant::now().checked_add(block);
        loop {
            // Register for the wake-up before looking, so a submit landing
            // between the look and the wait is not missed.
            let mut added = pin!(self.intake_added.notified());
            added.as_mut().enable();
            let entries =
                self.with(|s, now| s.read_intake(now, consumer, count, millis(reclaim_after)))?;
            if !entries.is_empty() || block.is_zero() {
                return Ok(entries);
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, added).await.is_err() {
                        return Ok(Vec::new());
                    }
                }
                None => added.await,
            }
        }
    }

    async fn ack_intake(&self, entry_id: &str) -> Result<()> {
        self.with(|s, _| s.ack_intake(entry_id))?
    }

    async fn dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        self.with(|s, now| s.dead_letter(now, letter))
    }

    async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>> {
        self.with(|s, _| s.dead_letters(count))
    }

    async fn put_campaign(&self, header: &CampaignHeader) -> Result<PutOutcome> {
        self.with(|s, _| s.put_campaign(header))
    }

    async fn enqueue_batch(&self, jobs: &[NewJob<'_>]) -> Result<Vec<PutOutcome>> {
        let outcomes: Vec<PutOutcome> = self.with(|s, now| s.enqueue_batch(now, jobs))?;
        for (job, outcome) in jobs.iter().zip(&outcomes) {
            if *outcome == PutOutcome::Created {
                self.work.now(self.shard_of(&job.spec.contact.official_id));
            }
        }
        Ok(outcomes)
    }

    async fn campaign_status(&self, id: &CampaignId) -> Result<Option<CampaignStatus>> {
        self.with(|s, _| s.campaign_status(id))
    }

    async fn campaign_header(&self, id: &CampaignId) -> Result<Option<CampaignHeader>> {
        self.with(|s, _| s.campaign_header(id))
    }

    async fn claim_numbers(
        &self,
        id: &CampaignId,
        claims: &[(&PhoneNumber, &ContactId)],
    ) -> Result<Vec<NumberClaim>> {
        self.with(|s, _| {
            claims
                .iter()
                .map(|(phone, contact)| s.claim_number(id, phone, contact))
                .collect()
        })
    }

    async fn claim_sample(&self, slot: &SampleSlot, contact: &ContactId, cap: u32) -> Result<bool> {
        self.with(|s, _| s.claim_sample(slot, contact, cap))
    }

    async fn enqueue_ended(
        &self,
        spec: &JobSpec,
        outcome: Outcome,
        reason: &str,
    ) -> Result<PutOutcome> {
        let put = self.with(|s, now| s.enqueue_ended(now, spec, outcome, reason))??;
        if put == PutOutcome::Created {
            self.work.recorded(self.shard_of(&spec.contact.official_id));
        }
        Ok(put)
    }

    async fn record_intake(
        &self,
        id: &CampaignId,
        entry: &str,
        tally: &IntakeTally,
    ) -> Result<bool> {
        self.with(|s, now| s.intake_tallies.record(now.ms, id, entry, tally))
    }

    async fn intake_stats(&self, id: &CampaignId) -> Result<Option<IntakeStats>> {
        self.with(|s, _| s.intake_tallies.stats(id))
    }

    async fn campaigns(&self) -> Result<Vec<CampaignId>> {
        self.with(|s, _| s.campaigns())
    }

    async fn control_campaign(
        &self,
        id: &CampaignId,
        action: CampaignAction,
    ) -> Result<Option<CampaignState>> {
        let state = self.with(|s, now| s.control_campaign(now, id, action))??;
        if state.is_some() {
            self.work.controlled(self.shards, action);
        }
        Ok(state)
    }

    async fn in_flight_of(&self, id: &CampaignId) -> Result<Vec<JobRef>> {
        self.with(|s, _| s.in_flight_of(id))
    }

    async fn waiting(&self, id: &CampaignId) -> Result<Waiting> {
        self.with(|s, _| {
            let jobs = s
                .jobs
                .values()
                .filter(|j| &j.id.campaign == id)
                .filter_map(|j| {
                    let due = s.shards[usize::from(j.shard)].delayed.score(&j.id)?;
                    Some((wait_reason(j.state, j.reason.as_deref())?, due))
                });
            // Jobs in officials' held queues: due when the official is next
            // scheduled (as far as the store knows).
            let mut held = Vec::new();
            for shard in &s.shards {
                for (official, queue) in &shard.held {
                    let Some(due) = shard.sched.score(official) else {
                        continue;
                    };
                    let mine = queue.iter().filter(|(job, _)| &job.campaign == id).count();
                    held.extend((0..mine).map(|_| (Limit::Official.reason().to_owned(), due)));
                }
            }
            let jobs = jobs.chain(held);
            let parked = s.parked.get(id).map_or(0, Vec::len);
            Waiting::from_jobs(jobs, parked as u64)
        })
    }

    async fn hangup_requests(&self) -> Result<Vec<CampaignId>> {
        self.with(|s, _| s.hangup_requests.iter().cloned().collect())
    }

    async fn hangup_done(&self, id: &CampaignId) -> Result<()> {
        self.with(|s, _| {
            s.hangup_requests.remove(id);
        })
    }

    async fn load_job(&self, id: &JobRef) -> Result<Option<Job>> {
        self.with(|s, _| s.load_job(id))
    }

    async fn live_attempts(&self, jobs: &[JobRef]) -> Result<Vec<Option<u32>>> {
        self.with(|s, _| {
            jobs.iter()
                .map(|r| {
                    s.load_job(r)
                        .filter(|j| matches!(j.state, JobState::Dialing | JobState::InCall))
                        .map(|j| j.attempt)
                })
                .collect()
        })
    }

    async fn promote(&self, shard: ShardId, max: usize) -> Result<Promoted> {
        self.with(|s, now| s.promote(now, shard, max))?
    }

    async fn read_ready_from(
        &self,
        shards: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>> {
        self.with(|s, now| s.read_ready(now, shards, consumer, count, millis(reclaim_after)))
    }

    fn work_signal(&self) -> &WorkSignal {
        &self.work
    }

    async fn authorize_and_look(
        &self,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, Option<Promoted>)> {
        let (verdict, looked) =
            self.with(|s, now| s.authorize_and_look(now, entry, limits, lease))??;
        self.work.authorized(entry.shard, &verdict, lease);
        Ok((verdict, Some(looked)))
    }

    async fn defer(&self, entry: &ReadyEntry, until_ms: i64, reason: &str) -> Result<Transition> {
        self.with(|s, now| s.defer(now, entry, until_ms, reason))?
    }

    async fn citizen_refund(&self, job: &Job) -> Result<()> {
        self.with(|s, _| {
            let member = format!("{}#{}", job.id, job.attempt);
            s.citizens.refund(&job.spec.contact.phone, &member);
        })
    }

    async fn record_opt_out(&self, phone: &PhoneNumber) -> Result<()> {
        self.with(|s, _| s.record_opt_out(phone))
    }

    async fn dnc_put(&self, requests: &[DncRequest]) -> Result<Vec<DncWrite>> {
        // One critical section per entry, as Redis runs one script per entry.
        requests
            .iter()
            .map(|r| self.with(|s, now| s.citizens.dnc_put(r, now.ms)))
            .collect()
    }

    async fn dnc_remove(&self, phone: &PhoneNumber) -> Result<bool> {
        self.with(|s, now| s.citizens.dnc_remove(phone, now.ms))
    }

    async fn dnc_check(&self, phone: &PhoneNumber) -> Result<Option<DncEntry>> {
        self.with(|s, now| s.citizens.dnc_check(phone, now.ms))
    }

    async fn dnc_count(&self) -> Result<u64> {
        self.with(|s, now| s.citizens.dnc_count(now.ms))
    }

    async fn mark_originated(
        &self,
        id: &JobRef,
        attempt: u32,
        call_sid: &str,
        lease: Duration,
    ) -> Result<Transition> {
        self.with(|s, now| s.mark_originated(now, id, attempt, call_sid, lease))
    }

    async fn requeue(
        &self,
        id: &JobRef,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<Transition> {
        let applied = self.with(|s, now| s.requeue(now, id, attempt, delay, reason))?;
        self.work.due(id.shard, tokio::time::Instant::now() + delay);
        Ok(applied)
    }

    async fn apply_status(
        &self,
        id: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> Result<StatusApplied> {
        self.with(|s, now| s.apply_status(now, id, attempt, call_sid, status))
    }

    async fn apply_status_concluding(
        &self,
        id: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: &Planned,
    ) -> Result<StatusConcluded> {
        let concluded = self.with(|s, now| {
            s.apply_status_concluding(now, id, attempt, call_sid, status, planned)
        })??;
        if let StatusConcluded::Concluded { .. } = concluded {
            self.work
                .finished(id.shard, Transition::Applied, &planned.finish);
        }
        Ok(concluded)
    }

    async fn save_ivr(&self, id: &JobRef, update: &IvrUpdate) -> Result<SaveIvr> {
        self.with(|s, now| s.save_ivr(now, id, update))
    }

    async fn finish(
        &self,
        id: &JobRef,
        attempt: u32,
        expected_step: Option<u32>,
        finish: &Finish,
    ) -> Result<Transition> {
        let applied = self.with(|s, now| s.finish(now, id, attempt, expected_step, finish))??;
        self.work.finished(id.shard, applied, finish);
        Ok(applied)
    }

    async fn due_in_flight(&self, shard: ShardId, max: usize) -> Result<Vec<(JobRef, u32)>> {
        self.with(|s, now| s.due_in_flight(now, shard, max))?
    }

    async fn in_flight_count(&self) -> Result<u64> {
        self.with(|s, _| {
            s.shards
                .iter()
                .map(|shard| shard.inflight.len() as u64)
                .sum()
        })
    }

    async fn in_flight_heads(&self) -> Result<InFlightHeads> {
        self.with(|s, now| InFlightHeads {
            now_ms: now.ms,
            next_deadline_ms: s
                .shards
                .iter()
                .map(|shard| shard.inflight.first())
                .collect(),
            count: s
                .shards
                .iter()
                .map(|shard| shard.inflight.len() as u64)
                .sum(),
        })
    }

    async fn heartbeat(&self, name: &str, forget_after: Duration) -> Result<()> {
        self.with(|s, now| {
            s.instances
                .retain(|_, at| now.ms - *at <= millis(forget_after));
            s.instances.insert(name.to_owned(), now.ms);
        })
    }

    async fn instances(&self) -> Result<Vec<InstanceSeen>> {
        self.with(|s, now| {
            let mut seen: Vec<InstanceSeen> = s
                .instances
                .iter()
                .map(|(name, at)| InstanceSeen {
                    name: name.clone(),
                    idle_ms: (now.ms - at).max(0),
                })
                .collect();
            seen.sort_by(|a, b| a.idle_ms.cmp(&b.idle_ms).then(a.name.cmp(&b.name)));
            seen
        })
    }

    async fn extend_lease(&self, id: &JobRef, attempt: u32, lease: Duration) -> Result<Transition> {
        let extended = self.with(|s, now| s.extend_lease(now, id, attempt, lease))?;
        if extended == Transition::Applied {
            self.work.lease(id.shard, lease);
        }
        Ok(extended)
    }

    async fn record_visit(
        &self,
        phone: &PhoneNumber,
        visit: &ServiceVisit,
        keep: Duration,
    ) -> Result<()> {
        self.with(|s, now| s.record_visit(now, phone, visit, keep))
    }

    async fn recent_visits(
        &self,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Result<Vec<ServiceVisit>> {
        self.with(|s, now| s.recent_visits(now, phone, within, max))
    }

    async fn admit_inbound(
        &self,
        call_sid: &str,
        max_live: u32,
        hold: Duration,
    ) -> Result<Admission> {
        self.with(|s, now| s.admit_inbound(now, call_sid, max_live, hold))
    }

    async fn release_inbound(&self, call_sid: &str) -> Result<()> {
        self.with(|s, _| s.release_inbound(call_sid))
    }

    async fn start_inbound(
        &self,
        job: &JobRef,
        spec: &JobSpec,
        about: &Attribution,
        call_sid: &str,
        lease: Duration,
    ) -> Result<InboundStart> {
        self.with(|s, now| s.start_inbound(now, job, spec, about, call_sid, lease))?
    }

    async fn relay_feedback(
        &self,
        shard: ShardId,
        max: usize,
        rules: &ScoringRules,
    ) -> Result<usize> {
        self.with(|s, now| s.relay_feedback(now, shard, max, rules))?
    }

    async fn read_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<(String, FeedbackRecord)>> {
        self.with(|s, _| s.read_feedback(cursor, count))?
    }

    async fn scan_feedback(&self, cursor: &str, count: usize) -> Result<Vec<FeedbackEntry>> {
        self.with(|s, _| s.scan_feedback(cursor, count))?
    }

    async fn escalations(&self, query: &EscalationQuery) -> Result<Vec<EscalationView>> {
        self.with(|s, _| s.accountability.escalations(query))
    }

    async fn escalation(&self, id: &str) -> Result<Option<EscalationView>> {
        self.with(|s, _| s.accountability.escalation(id))
    }

    async fn ack_escalation(&self, id: &str, ack: &Acknowledgement) -> Result<AckOutcome> {
        self.with(|s, _| s.accountability.ack(id, ack))
    }

    async fn score_cursor(&self) -> Result<String> {
        self.with(|s, _| s.accountability.score_cursor())
    }

    async fn apply_scores(
        &self,
        expected: &str,
        next: &str,
        updates: &[ScoreUpdate],
    ) -> Result<bool> {
        self.with(|s, _| s.accountability.apply_scores(expected, next, updates))
    }

    async fn reset_scores(&self) -> Result<()> {
        self.with(|s, _| s.accountability.reset_scores())
    }

    async fn score_days(&self) -> Result<Vec<Date>> {
        self.with(|s, _| s.accountability.score_days())
    }

    async fn read_scores(&self, by: Dimension, days: &[Date]) -> Result<Vec<DayScore>> {
        self.with(|s, _| s.accountability.read_scores(by, days))
    }

    async fn put_officials(&self, officials: &[Official]) -> Result<ImportSummary> {
        self.with(|s, _| s.registry.put(officials))
    }

    async fn official(&self, id: &OfficialId) -> Result<Option<Official>> {
        self.with(|s, _| s.registry.get(id))
    }

    async fn officials(&self, query: &OfficialQuery) -> Result<Vec<Official>> {
        self.with(|s, _| s.registry.list(query))
    }

    async fn remove_official(&self, id: &OfficialId) -> Result<bool> {
        self.with(|s, _| s.registry.remove(id))
    }
}
