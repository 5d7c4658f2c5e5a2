//! Dialling transitions: from a ready entry to a placed call, and back.
//!
//! | operation | fence | effect |
//! |---|---|---|
//! | `authorize` | job queued (entry always consumed) | GCRA ok → dialing, attempt+1, in flight; over the official's quota → its held queue, official scheduled at the allow time; another limit → delayed to its allow time; then the official rescheduled at its next allow time (its held head made ready at once if that is now) |
//! | `defer` | job queued (entry always consumed) | delayed until the given time |
//! | `promote` | delayed score <= now; official's schedule <= now | retry_wait → queued; queued → new ready entry; a due official's held head → new ready entry (official kept scheduled a lease ahead) |
//! | `mark_originated` | dialing + attempt (or replay: in_call, same sid) | in_call, sid, dials+1, new deadline |
//! | `requeue` | dialing + attempt + no sid | queued via the delayed set |
//! | `apply_status` | attempt, not terminal | dialing → in_call; higher rank stored |
//! | `extend_lease` | attempt, dialing/in_call | new in-flight deadline |
//!
//! Owns: these transitions on `State`. Does not own: policy (the caller
//! decides delays, quotas and leases) or the IVR/finish steps (`call.rs`).

use std::time::Duration;

use super::call::end_waiting;
use super::state::{Counts, Now, Shard, State, parse_id, set_state};
use crate::domain::{CallStatus, JobState, Outcome};
use crate::store::gcra::Gcra;
use crate::store::{
    Authorize, CampaignState, CitizenCaps, DialLimits, Job, JobRef, Limit, Promoted, ReadyEntry,
    Result, ShardId, StatusApplied, Transition,
};

/// `ceil(us / 1000)`: a job must not become ready before the GCRA allows it.
fn ceil_ms(us: i64) -> i64 {
    us.div_euclid(1000) + i64::from(us.rem_euclid(1000) != 0)
}

/// As `PROMOTION_LEASE` in `redis/dispatch.rs`: a held official whose head
/// was promoted is not promoted again until its job is decided (or this long).
pub(super) const PROMOTION_LEASE_MS: i64 = 30_000;

impl State {
    /// `authorize`, and what it left the entry's shard holding (as
    /// `authorize.lua`'s report).
    pub fn authorize_and_look(
        &mut self,
        now: Now,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<(Authorize, Promoted)> {
        let verdict = self.authorize(now, entry, limits, lease)?;
        Ok((verdict, self.shard_mut(entry.shard)?.looked(0, now.ms)))
    }

    /// `authorize_job`, then the official's schedule (as `authorize.lua`).
    pub fn authorize(
        &mut self,
        now: Now,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<Authorize> {
        let verdict = self.authorize_job(now, entry, limits, lease)?;
        let shard = self.shard_mut(entry.shard)?;
        let official = &entry.official;
        match &verdict {
            Authorize::ProviderBusy { .. } => {}
            Authorize::Deferred {
                until_ms,
                limit: Limit::Official,
            } => shard.sched.insert(official, *until_ms),
            _ if shard.held.get(official).is_some_and(|q| !q.is_empty()) => {
                let tat = shard.gcra.get(official).copied().unwrap_or(now.us);
                let allow_us = tat - Gcra::new(limits.official).slack_us;
                if allow_us > now.us {
                    shard.sched.insert(official, ceil_ms(allow_us));
                } else if let Some((job, urgent)) =
                    shard.held.get_mut(official).and_then(|q| q.pop_front())
                {
                    // Allowed now: the next job is made ready at once.
                    shard.ready_of(urgent).add(now.ms, (job, official.clone()));
                    shard.sched.insert(official, now.ms + PROMOTION_LEASE_MS);
                }
            }
            _ => {
                shard.held.remove(official);
                shard.sched.remove(official);
            }
        }
        Ok(verdict)
    }

    fn authorize_job(
        &mut self,
        now: Now,
        entry: &ReadyEntry,
        limits: &DialLimits,
        lease: Duration,
    ) -> Result<Authorize> {
        let entry_id = parse_id(&entry.entry_id)?;
        self.shard_mut(entry.shard)?;
        let live_calls: usize = self.shards.iter().map(|s| s.inflight.len()).sum();
        let State {
            shards,
            jobs,
            counts,
            campaign_states,
            parked,
            citizens,
            department_gcra,
            provider_tat,
            ..
        } = self;
        let shard = &mut shards[usize::from(entry.shard)];
        let Some(job) = jobs
            .get_mut(&entry.job)
            .filter(|j| j.shard == entry.shard && j.state == JobState::Queued)
        else {
            shard.ready_of(entry.urgent).ack(entry_id);
            return Ok(Authorize::Stale);
        };
        let end = |shard: &mut Shard, counts: &mut Counts, job: &mut Job, outcome, reason: &str| {
            shard.ready_of(entry.urgent).ack(entry_id);
            shard.delayed.remove(&job.id);
            end_waiting(counts, &mut shard.outbox, job, outcome, reason, now)
        };
        match campaign_states.get(&job.id.campaign) {
            Some(CampaignState::Paused) => {
                shard.ready_of(entry.urgent).ack(entry_id);
                shard.delayed.remove(&job.id);
                parked
                    .entry(job.id.campaign.clone())
                    .or_default()
                    .push(job.id.clone());
                job.reason = Some("campaign paused".into());
                job.updated_at_ms = now.ms;
                return Ok(Authorize::Parked);
            }
            Some(CampaignState::Cancelled { .. }) => {
                end(shard, counts, job, Outcome::Cancelled, "campaign cancelled")?;
                return Ok(Authorize::Cancelled);
            }
            Some(CampaignState::Active) | None => {}
        }
        if job
            .spec
            .not_after_ms
            .is_some_and(|deadline| now.ms > deadline)
        {
            end(
                shard,
                counts,
                job,
                Outcome::Expired,
                "past its deadline (the visit is too long ago, or the campaign expired)",
            )?;
            return Ok(Authorize::Expired);
        }
        let defer = |shard: &mut Shard, job: &mut Job, until_ms: i64, limit: Limit| {
            shard.ready_of(entry.urgent).ack(entry_id);
            if limit == Limit::Official {
                shard.delayed.remove(&job.id);
                let queue = shard.held.entry(entry.official.clone()).or_default();
                if entry.urgent {
                    queue.push_front((job.id.clone(), true));
                } else {
                    queue.push_back((job.id.clone(), false));
                }
            } else {
                shard.delayed.insert(&job.id, until_ms);
            }
            job.reason = Some(limit.reason().to_owned());
            job.updated_at_ms = now.ms;
            Ok(Authorize::Deferred { until_ms, limit })
        };
        if let Some(not_before) = job.spec.not_before_ms.filter(|&t| now.ms < t) {
            return defer(shard, job, not_before, Limit::NotBefore);
        }
        let tag = citizens.tag(&job.spec.contact.phone);
        if let Some(reason) = citizens.refusal(&tag, now.ms) {
            end(shard, counts, job, Outcome::OptedOut, &reason)?;
            return Ok(Authorize::OptedOut);
        }
        // Limits that wait: the latest time any of them allows wins.
        let mut held: Option<(i64, Limit)> = None;
        let hold = |held: &mut Option<(i64, Limit)>, at: i64, limit: Limit| {
            if held.is_none_or(|(t, _)| at > t) {
                *held = Some((at, limit));
            }
        };
        if let Some(at) = citizens.cap_until(&tag, now.ms, limits.citizen) {
            hold(&mut held, at, Limit::Citizen);
        }
        let department = job.spec.department.clone();
        let department_tat = match limits.department {
            Some(quota) => {
                match Gcra::new(quota).check(department_gcra.get(&department).copied(), now.us) {
                    Ok(tat) => Some(tat),
                    Err(allow_at_us) => {
                        hold(&mut held, ceil_ms(allow_at_us), Limit::Department);
                        None
                    }
                }
            }
            None => None,
        };
        let official = job.spec.contact.official_id.clone();
        let official_tat =
            match Gcra::new(limits.official).check(shard.gcra.get(&official).copied(), now.us) {
                Ok(tat) => Some(tat),
                Err(allow_at_us) => {
                    hold(&mut held, ceil_ms(allow_at_us), Limit::Official);
                    None
                }
            };
        if held.is_none()
            && limits
                .max_live_calls
                .is_some_and(|cap| live_calls >= usize::try_from(cap).unwrap_or(usize::MAX))
        {
            hold(
                &mut held,
                now.ms_after(limits.live_recheck),
                Limit::LiveCalls,
            );
        }
        if let Some((until_ms, limit)) = held {
            return defer(shard, job, until_ms, limit);
        }
        let provider = match limits.provider {
            Some(quota) => match Gcra::new(quota).check(*provider_tat, now.us) {
                Ok(tat) => Some(tat),
                Err(allow_at_us) => {
                    let wait_us = u64::try_from(allow_at_us - now.us).unwrap_or(0).max(1);
                    return Ok(Authorize::ProviderBusy {
                        wait: Duration::from_micros(wait_us),
                    });
                }
            },
            None => None,
        };
        // Granted: spend every unit.
        shard.ready_of(entry.urgent).ack(entry_id);
        if let Some(tat) = official_tat {
            shard.gcra.insert(official, tat);
        }
        if let Some(tat) = department_tat {
            department_gcra.insert(department, tat);
        }
        if provider.is_some() {
            *provider_tat = provider;
        }
        set_state(counts, job, JobState::Dialing, now);
        job.attempt += 1;
        if limits.citizen != CitizenCaps::default() {
            citizens.record_call(&tag, now.ms, format!("{}#{}", job.id, job.attempt));
        }
        job.dial_started_at_ms = Some(now.ms);
        if let Some(sid) = job.call_sid.take() {
            job.past_call_sids.push(sid);
        }
        job.status_rank = 0;
        job.call_status = None;
        job.ivr = None;
        job.last_response = None;
        job.reason = None;
        job.ivr_step = 0;
        shard.delayed.remove(&job.id);
        shard.inflight.insert(&job.id, now.ms_after(lease));
        Ok(Authorize::Granted {
            job: Box::new(job.clone()),
            now_ms: now.ms,
        })
    }

    pub fn defer(
        &mut self,
        now: Now,
        entry: &ReadyEntry,
        until_ms: i64,
        reason: &str,
    ) -> Result<Transition> {
        let entry_id = parse_id(&entry.entry_id)?;
        let shard = self.shard_mut(entry.shard)?;
        shard.ready_of(entry.urgent).ack(entry_id);
        // The entry held its official's place: the next held job is due
        // now (as `defer.lua`).
        if shard
            .held
            .get(&entry.official)
            .is_some_and(|q| !q.is_empty())
        {
            shard.sched.insert(&entry.official, now.ms);
        } else {
            shard.held.remove(&entry.official);
            shard.sched.remove(&entry.official);
        }
        let State { shards, jobs, .. } = self;
        let Some(job) = jobs.get_mut(&entry.job) else {
            return Ok(Transition::Stale);
        };
        if job.shard != entry.shard || job.state != JobState::Queued {
            return Ok(Transition::Stale);
        }
        shards[usize::from(entry.shard)]
            .delayed
            .insert(&job.id, until_ms);
        job.reason = Some(reason.to_owned());
        job.updated_at_ms = now.ms;
        Ok(Transition::Applied)
    }

    pub fn promote(&mut self, now: Now, shard: ShardId, max: usize) -> Result<Promoted> {
        self.shard_mut(shard)?;
        let State {
            shards,
            jobs,
            counts,
            ..
        } = self;
        let shard = &mut shards[usize::from(shard)];
        let mut promoted = 0;
        for id in shard.delayed.due(now.ms, max) {
            shard.delayed.remove(&id);
            let Some(job) = jobs.get_mut(&id) else {
                continue;
            };
            if job.state == JobState::RetryWait {
                set_state(counts, job, JobState::Queued, now);
            }
            // A member whose job moved on meanwhile is just dropped: an
            // entry for it would only be consumed as stale.
            if job.state == JobState::Queued {
                shard.add_ready(now.ms, job);
                promoted += 1;
            }
        }
        for official in shard.sched.due(now.ms, max) {
            let queue = shard.held.entry(official.clone()).or_default();
            if let Some((job, urgent)) = queue.pop_front() {
                shard.ready_of(urgent).add(now.ms, (job, official.clone()));
                promoted += 1;
            }
            if shard.held.get(&official).is_some_and(|q| !q.is_empty()) {
                shard.sched.insert(&official, now.ms + PROMOTION_LEASE_MS);
            } else {
                shard.held.remove(&official);
                shard.sched.remove(&official);
            }
        }
        Ok(shard.looked(promoted, now.ms))
    }

    pub fn mark_originated(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        call_sid: &str,
        lease: Duration,
    ) -> Transition {
        let id = &r.id;
        let State {
            shards,
            jobs,
            counts,
            ..
        } = self;
        let Some(job) = jobs.get_mut(id).filter(|j| j.shard == r.shard) else {
            return Transition::Stale;
        };
        if job.attempt != attempt {
            return Transition::Stale;
        }
        match job.state {
            JobState::Dialing => {
                set_state(counts, job, JobState::InCall, now);
                job.call_sid = Some(call_sid.to_owned());
                job.dials += 1;
                job.first_dialled_at_ms.get_or_insert(now.ms);
                shards[usize::from(job.shard)]
                    .inflight
                    .insert(id, now.ms_after(lease));
                Transition::Applied
            }
            // A replay after a lost reply, or a status callback adopted the
            // call first (under the originate lease): the call's lease applies.
            JobState::InCall if job.call_sid.as_deref() == Some(call_sid) => {
                let inflight = &mut shards[usize::from(job.shard)].inflight;
                let until = now.ms_after(lease);
                if inflight.score(id).is_none_or(|s| s < until) {
                    inflight.insert(id, until);
                }
                Transition::Applied
            }
            _ => Transition::Stale,
        }
    }

    pub fn requeue(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Transition {
        let id = &r.id;
        let State {
            shards,
            jobs,
            counts,
            ..
        } = self;
        let Some(job) = jobs.get_mut(id).filter(|j| j.shard == r.shard) else {
            return Transition::Stale;
        };
        if job.attempt != attempt || job.state != JobState::Dialing || job.call_sid.is_some() {
            return Transition::Stale;
        }
        set_state(counts, job, JobState::Queued, now);
        job.reason = Some(reason.to_owned());
        let shard = &mut shards[usize::from(job.shard)];
        shard.inflight.remove(id);
        shard.delayed.insert(id, now.ms_after(delay));
        Transition::Applied
    }

    pub fn apply_status(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> StatusApplied {
        let id = &r.id;
        let State { jobs, counts, .. } = self;
        let Some(job) = jobs.get_mut(id).filter(|j| j.shard == r.shard) else {
            return StatusApplied {
                known: false,
                job: None,
                advanced: false,
            };
        };
        let mut advanced = false;
        let live = matches!(job.state, JobState::Dialing | JobState::InCall);
        // Another call id for the same attempt is not ours to apply.
        let ours = job.call_sid.as_deref().is_none_or(|sid| sid == call_sid);
        if job.attempt == attempt && live && ours {
            // The callback can beat the originate reply: adopt the call.
            if job.state == JobState::Dialing {
                set_state(counts, job, JobState::InCall, now);
                job.call_sid = Some(call_sid.to_owned());
                job.dials += 1;
                job.first_dialled_at_ms.get_or_insert(now.ms);
                advanced = true;
            }
            if status.rank() > job.status_rank {
                job.status_rank = status.rank();
                job.call_status = Some(status);
                job.updated_at_ms = now.ms;
                advanced = true;
            }
        }
        StatusApplied {
            known: true,
            job: status.is_terminal().then(|| Box::new(job.clone())),
            advanced,
        }
    }

    pub fn extend_lease(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        lease: Duration,
    ) -> Transition {
        let id = &r.id;
        let State { shards, jobs, .. } = self;
        let Some(job) = jobs.get(id).filter(|j| j.shard == r.shard) else {
            return Transition::Stale;
        };
        // Only jobs with a call in progress are in flight; putting a queued
        // or retry_wait job there would make the reconciler chase a call
        // that does not exist.
        let in_flight = matches!(job.state, JobState::Dialing | JobState::InCall);
        if job.attempt != attempt || !in_flight {
            return Transition::Stale;
        }
        shards[usize::from(job.shard)]
            .inflight
            .insert(id, now.ms_after(lease));
        Transition::Applied
    }

    pub fn due_in_flight(
        &mut self,
        now: Now,
        shard: ShardId,
        max: usize,
    ) -> Result<Vec<(JobRef, u32)>> {
        let due = self.shard_mut(shard)?.inflight.due(now.ms, max);
        Ok(due
            .into_iter()
            .filter_map(|id| {
                let attempt = self.jobs.get(&id)?.attempt;
                Some((JobRef::new(shard, id), attempt))
            })
            .collect())
    }
}
