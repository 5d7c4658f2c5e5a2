//! The store contract: the `Store` trait both backends implement. The
//! values it takes and gives are in `dial` (queued jobs, dial decisions),
//! `calls` (calls in progress, inbound calls) and `campaign` (campaigns and
//! the programme around them).
//!
//! Every mutating method is one atomic step (one Lua script on Redis, one
//! critical section in memory), fenced by the job's `attempt` so replaying it
//! after a lost reply, or applying a stale event, changes nothing.

use std::time::Duration;

use async_trait::async_trait;
use jiff::civil::Date;

use super::StoreError;
use super::intake_entry::IntakeEntry;
use super::intake_tally::{IntakeStats, IntakeTally};
use super::registry::{ImportSummary, OfficialQuery};
use super::{calls::*, campaign::*, dial::*};
use crate::domain::scorecard::{Dimension, ScoreUpdate};
use crate::domain::{
    Acknowledgement, Attribution, CallStatus, CampaignHeader, CampaignId, ContactId,
    EscalationView, FeedbackRecord, JobSpec, Official, OfficialId, Outcome, PhoneNumber,
    ScoringRules,
};

pub type Result<T> = std::result::Result<T, StoreError>;

/// A shard number in `0..shards`; an official's jobs all live in one shard.
pub type ShardId = u16;

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
