//! `impl Store for RedisStore`: the trait surface, delegating to the
//! per-concern files (`jobs`, `dispatch`, `transitions`, `results`).

use std::time::Duration;

use async_trait::async_trait;

use super::connection::RedisStore;
use crate::domain::{
    Attribution, CallStatus, CampaignHeader, CampaignId, ContactId, FeedbackRecord, JobSpec,
    Official, OfficialId, Outcome, PhoneNumber,
};
use crate::store::{
    Admission, Authorize, CampaignAction, CampaignState, CampaignStatus, DeadLetter, DialLimits,
    DncEntry, DncRequest, DncWrite, EndedJob, Finish, ImportSummary, InFlightHeads, InboundStart,
    InstanceSeen, IntakeEntry, IntakeStats, IntakeTally, IvrUpdate, Job, JobRef, NewJob,
    NumberClaim, OfficialQuery, Planned, Promoted, PutOutcome, ReadyEntry, Result, SampleSlot,
    SaveIvr, ServiceVisit, ShardId, StatusApplied, StatusConcluded, Store, Transition, Waiting,
    Wake, WorkSignal,
};

#[async_trait]
impl Store for RedisStore {
    fn shards(&self) -> ShardId {
        self.shards
    }

    async fn now_ms(&self) -> Result<i64> {
        self.now_ms_impl().await
    }

    async fn submit(&self, document: &str) -> Result<String> {
        self.submit_impl(document).await
    }

    async fn read_intake(
        &self,
        consumer: &str,
        count: usize,
        block: Duration,
        reclaim_after: Duration,
    ) -> Result<Vec<IntakeEntry>> {
        self.read_intake_impl(consumer, count, block, reclaim_after)
            .await
    }

    async fn ack_intake(&self, entry_id: &str) -> Result<()> {
        self.ack_intake_impl(entry_id).await
    }

    async fn dead_letter(&self, letter: &DeadLetter) -> Result<()> {
        self.dead_letter_impl(letter).await
    }

    async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>> {
        self.dead_letters_impl(count).await
    }

    async fn put_campaign(&self, header: &CampaignHeader) -> Result<PutOutcome> {
        self.put_campaign_impl(header).await
    }

    async fn enqueue_batch(&self, jobs: &[NewJob<'_>]) -> Result<Vec<PutOutcome>> {
        let outcomes = self.enqueue_batch_impl(jobs).await?;
        let mut shards = Vec::new();
        for (job, outcome) in jobs.iter().zip(&outcomes) {
            if *outcome == PutOutcome::Created {
                let shard = self.shard_of(&job.spec.contact.official_id);
                self.work.now(shard);
                shards.push(shard);
            }
        }
        self.leave_wake(&Wake::Shards(shards)).await;
        Ok(outcomes)
    }

    async fn campaign_status(&self, id: &CampaignId) -> Result<Option<CampaignStatus>> {
        self.campaign_status_impl(id).await
    }

    async fn campaign_header(&self, id: &CampaignId) -> Result<Option<CampaignHeader>> {
        self.campaign_header_impl(id).await
    }

    async fn claim_numbers(
        &self,
        id: &CampaignId,
        claims: &[(&PhoneNumber, &ContactId)],
    ) -> Result<Vec<NumberClaim>> {
        self.claim_numbers_impl(id, claims).await
    }

    async fn claim_sample(&self, slot: &SampleSlot, contact: &ContactId, cap: u32) -> Result<bool> {
        let held = self
            .claim_samples_impl(&[(slot, vec![contact])], cap)
            .await?;
        Ok(held.first().and_then(|places| places.first()) == Some(&true))
    }

    async fn claim_samples(
        &self,
        claims: &[(&SampleSlot, Vec<&ContactId>)],
        cap: u32,
    ) -> Result<Vec<Vec<bool>>> {
        self.claim_samples_impl(claims, cap).await
    }

    async fn enqueue_ended(
        &self,
        spec: &JobSpec,
        outcome: Outcome,
        reason: &str,
    ) -> Result<PutOutcome> {
        let outcomes = self
            .enqueue_ended_batch(&[EndedJob {
                spec,
                outcome,
                reason,
            }])
            .await?;
        outcomes.into_iter().next().ok_or_else(|| {
            crate::store::StoreError::Refused("enqueue_ended answered nothing".into())
        })
    }

    async fn enqueue_ended_batch(&self, jobs: &[EndedJob<'_>]) -> Result<Vec<PutOutcome>> {
        let outcomes = self.enqueue_ended_batch_impl(jobs).await?;
        // Each ended contact wrote a record to its shard's outbox.
        for (job, put) in jobs.iter().zip(&outcomes) {
            if *put == PutOutcome::Created {
                self.work
                    .recorded(self.shard_of(&job.spec.contact.official_id));
            }
        }
        Ok(outcomes)
    }

    async fn record_intake(
        &self,
        id: &CampaignId,
        entry: &str,
        tally: &IntakeTally,
    ) -> Result<bool> {
        self.record_intake_impl(id, entry, tally).await
    }

    async fn intake_stats(&self, id: &CampaignId) -> Result<Option<IntakeStats>> {
        self.intake_stats_impl(id).await
    }

    async fn campaigns(&self) -> Result<Vec<CampaignId>> {
        self.campaigns_impl().await
    }

    async fn control_campaign(
        &self,
        id: &CampaignId,
        action: CampaignAction,
    ) -> Result<Option<CampaignState>> {
        let state = self.control_campaign_impl(id, action).await?;
        if state.is_some() {
            self.work.controlled(self.shards, action);
            match action {
                CampaignAction::Resume => {
                    self.leave_wake(&Wake::Shards((0..self.shards).collect()))
                        .await
                }
                CampaignAction::Cancel { hangup: true } => self.leave_wake(&Wake::Hangup).await,
                CampaignAction::Cancel { hangup: false } | CampaignAction::Pause => {}
            }
        }
        Ok(state)
    }

    async fn in_flight_of(&self, id: &CampaignId) -> Result<Vec<JobRef>> {
        self.in_flight_of_impl(id).await
    }

    async fn waiting(&self, id: &CampaignId) -> Result<Waiting> {
        self.waiting_impl(id).await
    }

    async fn hangup_requests(&self) -> Result<Vec<CampaignId>> {
        self.hangup_requests_impl().await
    }

    async fn hangup_done(&self, id: &CampaignId) -> Result<()> {
        self.hangup_done_impl(id).await
    }

    async fn load_job(&self, job: &JobRef) -> Result<Option<Job>> {
        self.load_job_impl(job).await
    }

    async fn promote(&self, shard: ShardId, max: usize) -> Result<Promoted> {
        self.promote_impl(shard, max).await
    }

    async fn read_ready_from(
        &self,
        shards: &[ShardId],
        consumer: &str,
        count: usize,
        reclaim_after: Duration,
    ) -> Result<Vec<ReadyEntry>> {
        self.read_ready_impl(shards, consumer, count, reclaim_after)
            .await
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
        let (verdict, _, looked) = self.authorize_looking(entry, limits, lease).await?;
        self.work.authorized(entry.shard, &verdict, lease);
        Ok((verdict, looked))
    }

    async fn defer(&self, entry: &ReadyEntry, until_ms: i64, reason: &str) -> Result<Transition> {
        self.defer_impl(entry, until_ms, reason).await
    }

    async fn citizen_refund(&self, job: &Job) -> Result<()> {
        self.citizen_refund_impl(job).await
    }

    async fn record_opt_out(&self, phone: &PhoneNumber) -> Result<()> {
        self.record_opt_out_impl(phone).await
    }

    async fn dnc_put(&self, requests: &[DncRequest]) -> Result<Vec<DncWrite>> {
        self.dnc_put_impl(requests).await
    }

    async fn dnc_remove(&self, phone: &PhoneNumber) -> Result<bool> {
        self.dnc_remove_impl(phone).await
    }

    async fn dnc_check(&self, phone: &PhoneNumber) -> Result<Option<DncEntry>> {
        self.dnc_check_impl(phone).await
    }

    async fn dnc_count(&self) -> Result<u64> {
        self.dnc_count_impl().await
    }

    async fn mark_originated(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        lease: Duration,
    ) -> Result<Transition> {
        self.mark_originated_impl(job, attempt, call_sid, lease)
            .await
    }

    async fn requeue(
        &self,
        job: &JobRef,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<Transition> {
        let applied = self.requeue_impl(job, attempt, delay, reason).await?;
        self.work
            .due(job.shard, tokio::time::Instant::now() + delay);
        Ok(applied)
    }

    async fn apply_status(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> Result<StatusApplied> {
        self.apply_status_impl(job, attempt, call_sid, status).await
    }

    async fn apply_status_concluding(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: &Planned,
    ) -> Result<StatusConcluded> {
        let concluded = self
            .apply_status_concluding_impl(job, attempt, call_sid, status, planned)
            .await?;
        if let StatusConcluded::Concluded { .. } = concluded {
            // As `finish`: the record (or the retry) was written with the status.
            self.wait_for_replicas(&self.keys.outbox(job.shard)).await?;
            self.work
                .finished(job.shard, Transition::Applied, &planned.finish);
        }
        Ok(concluded)
    }

    async fn save_ivr(&self, job: &JobRef, update: &IvrUpdate) -> Result<SaveIvr> {
        self.save_ivr_impl(job, update).await
    }

    async fn finish(
        &self,
        job: &JobRef,
        attempt: u32,
        expected_step: Option<u32>,
        finish: &Finish,
    ) -> Result<Transition> {
        let applied = self
            .finish_impl(job, attempt, expected_step, finish)
            .await?;
        self.wait_for_replicas(&self.keys.outbox(job.shard)).await?;
        self.work.finished(job.shard, applied, finish);
        Ok(applied)
    }

    async fn live_attempts(&self, jobs: &[JobRef]) -> Result<Vec<Option<u32>>> {
        self.live_attempts_impl(jobs).await
    }

    async fn due_in_flight(&self, shard: ShardId, max: usize) -> Result<Vec<(JobRef, u32)>> {
        self.due_in_flight_impl(shard, max).await
    }

    async fn in_flight_count(&self) -> Result<u64> {
        let mut pipe = redis::pipe();
        for shard in 0..self.shards() {
            pipe.cmd("ZCARD").arg(self.keys.inflight(shard));
        }
        let counts: Vec<u64> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(counts.iter().sum())
    }

    async fn in_flight_heads(&self) -> Result<InFlightHeads> {
        self.in_flight_heads_impl().await
    }

    async fn heartbeat(&self, name: &str, forget_after: Duration) -> Result<()> {
        let _: i64 = self
            .scripts
            .heartbeat
            .key(self.keys.instances())
            .arg(name)
            .arg(u64::try_from(forget_after.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(())
    }

    async fn instances(&self) -> Result<Vec<InstanceSeen>> {
        let seen: Vec<(String, i64)> = redis::cmd("HGETALL")
            .arg(self.keys.instances())
            .query_async(&mut self.conn.clone())
            .await?;
        let now = self.now_ms().await?;
        let mut seen: Vec<InstanceSeen> = seen
            .into_iter()
            .map(|(name, at)| InstanceSeen {
                name,
                idle_ms: (now - at).max(0),
            })
            .collect();
        seen.sort_by(|a, b| a.idle_ms.cmp(&b.idle_ms).then(a.name.cmp(&b.name)));
        Ok(seen)
    }

    async fn extend_lease(
        &self,
        job: &JobRef,
        attempt: u32,
        lease: Duration,
    ) -> Result<Transition> {
        let extended = self.extend_lease_impl(job, attempt, lease).await?;
        if extended == Transition::Applied {
            self.work.lease(job.shard, lease);
        }
        Ok(extended)
    }

    async fn record_visit(
        &self,
        phone: &PhoneNumber,
        visit: &ServiceVisit,
        keep: Duration,
    ) -> Result<()> {
        self.record_visits_impl(&[(phone, visit.clone())], keep)
            .await
    }

    async fn record_visits(
        &self,
        visits: &[(&PhoneNumber, ServiceVisit)],
        keep: Duration,
    ) -> Result<()> {
        self.record_visits_impl(visits, keep).await
    }

    async fn recent_visits(
        &self,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Result<Vec<ServiceVisit>> {
        self.recent_visits_impl(phone, within, max).await
    }

    async fn admit_inbound(
        &self,
        call_sid: &str,
        max_live: u32,
        hold: Duration,
    ) -> Result<Admission> {
        self.admit_inbound_impl(call_sid, max_live, hold).await
    }

    async fn release_inbound(&self, call_sid: &str) -> Result<()> {
        self.release_inbound_impl(call_sid).await
    }

    async fn start_inbound(
        &self,
        job: &JobRef,
        spec: &JobSpec,
        about: &Attribution,
        call_sid: &str,
        lease: Duration,
    ) -> Result<InboundStart> {
        self.start_inbound_impl(job, spec, about, call_sid, lease)
            .await
    }

    async fn relay_feedback(
        &self,
        shard: ShardId,
        max: usize,
        rules: &crate::domain::ScoringRules,
    ) -> Result<usize> {
        self.relay_feedback_impl(shard, max, rules).await
    }

    async fn read_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<(String, FeedbackRecord)>> {
        self.read_feedback_impl(cursor, count).await
    }

    async fn scan_feedback(
        &self,
        cursor: &str,
        count: usize,
    ) -> Result<Vec<crate::store::FeedbackEntry>> {
        self.scan_feedback_impl(cursor, count).await
    }

    async fn escalations(
        &self,
        query: &crate::store::EscalationQuery,
    ) -> Result<Vec<crate::domain::EscalationView>> {
        self.escalations_impl(query).await
    }

    async fn escalation(&self, id: &str) -> Result<Option<crate::domain::EscalationView>> {
        self.escalation_impl(id).await
    }

    async fn ack_escalation(
        &self,
        id: &str,
        ack: &crate::domain::Acknowledgement,
    ) -> Result<crate::store::AckOutcome> {
        self.ack_escalation_impl(id, ack).await
    }

    async fn score_cursor(&self) -> Result<String> {
        self.score_cursor_impl().await
    }

    async fn apply_scores(
        &self,
        expected: &str,
        next: &str,
        updates: &[crate::domain::scorecard::ScoreUpdate],
    ) -> Result<bool> {
        self.apply_scores_impl(expected, next, updates).await
    }

    async fn reset_scores(&self) -> Result<()> {
        self.reset_scores_impl().await
    }

    async fn score_days(&self) -> Result<Vec<jiff::civil::Date>> {
        self.score_days_impl().await
    }

    async fn read_scores(
        &self,
        by: crate::domain::scorecard::Dimension,
        days: &[jiff::civil::Date],
    ) -> Result<Vec<crate::store::DayScore>> {
        self.read_scores_impl(by, days).await
    }

    fn data_guard(&self) -> Option<&dyn crate::store::guard::DataGuard> {
        Some(self)
    }

    fn wake_feed(&self) -> Option<&dyn crate::store::WakeFeed> {
        Some(self)
    }

    async fn put_officials(&self, officials: &[Official]) -> Result<ImportSummary> {
        self.put_officials_impl(officials).await
    }

    async fn official(&self, id: &OfficialId) -> Result<Option<Official>> {
        self.official_impl(id).await
    }

    async fn officials(&self, query: &OfficialQuery) -> Result<Vec<Official>> {
        self.officials_impl(query).await
    }

    async fn remove_official(&self, id: &OfficialId) -> Result<bool> {
        self.remove_official_impl(id).await
    }
}
