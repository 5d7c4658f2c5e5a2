//! Inbound calls in memory: remembered visits, the cap on live inbound
//! calls, and the job an inbound call is born with (`redis/inbound.rs` and
//! its scripts are the counterpart).

use std::time::Duration;

use super::state::{Now, State, count_new};
use crate::domain::{Attribution, CallStatus, JobSpec, JobState, PhoneNumber};
use crate::store::{Admission, InboundStart, Job, JobRef, Result, ServiceVisit};

impl State {
    pub fn record_visit(
        &mut self,
        now: Now,
        phone: &PhoneNumber,
        visit: &ServiceVisit,
        keep: Duration,
    ) {
        let since = now.ms.saturating_sub(millis(keep));
        let visits = self.visits.entry(self.citizens.tag(phone)).or_default();
        visits.retain(|v| v.at_ms >= since && !same_visit(v, visit));
        visits.push(ServiceVisit {
            at_ms: now.ms,
            ..visit.clone()
        });
    }

    pub fn recent_visits(
        &self,
        now: Now,
        phone: &PhoneNumber,
        within: Duration,
        max: usize,
    ) -> Vec<ServiceVisit> {
        let since = now.ms.saturating_sub(millis(within));
        let mut recent: Vec<ServiceVisit> = self
            .visits
            .get(&self.citizens.tag(phone))
            .into_iter()
            .flatten()
            .filter(|v| v.at_ms >= since)
            .cloned()
            .collect();
        recent.sort_by_key(|v| std::cmp::Reverse(v.at_ms));
        recent.truncate(max.max(1));
        recent
    }

    pub fn admit_inbound(
        &mut self,
        now: Now,
        call_sid: &str,
        max_live: u32,
        hold: Duration,
    ) -> Admission {
        self.inbound_live.retain(|_, until| *until > now.ms);
        if self.inbound_live.contains_key(call_sid) {
            return Admission::Admitted;
        }
        if self.inbound_live.len() >= max_live as usize {
            return Admission::Busy;
        }
        self.inbound_live
            .insert(call_sid.to_owned(), now.ms_after(hold));
        Admission::Admitted
    }

    pub fn release_inbound(&mut self, call_sid: &str) {
        self.inbound_live.remove(call_sid);
    }

    pub fn start_inbound(
        &mut self,
        now: Now,
        r: &JobRef,
        spec: &JobSpec,
        about: &Attribution,
        call_sid: &str,
        lease: Duration,
    ) -> Result<InboundStart> {
        if let Some(job) = self.jobs.get(&r.id) {
            return Ok(InboundStart::Existing(Box::new(job.clone())));
        }
        self.shard_mut(r.shard)?
            .inflight
            .insert(&r.id, now.ms_after(lease));
        let status = CallStatus::InProgress;
        let job = Job {
            id: r.id.clone(),
            shard: r.shard,
            spec: spec.clone().into(),
            state: JobState::InCall,
            attempt: 1,
            dials: 1,
            call_sid: Some(call_sid.to_owned()),
            past_call_sids: Vec::new(),
            status_rank: status.rank(),
            call_status: Some(status),
            ivr: None,
            attribution: Some(about.clone()),
            bridge: None,
            ivr_step: 0,
            answers: Vec::new(),
            last_response: None,
            reason: None,
            queued_at_ms: now.ms,
            first_dialled_at_ms: Some(now.ms),
            dial_started_at_ms: Some(now.ms),
            updated_at_ms: now.ms,
        };
        count_new(&mut self.counts, &job);
        self.jobs.insert(r.id.clone(), job.clone());
        Ok(InboundStart::Created(Box::new(job)))
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The same visit (campaign and contact): remembering it again refreshes it.
fn same_visit(a: &ServiceVisit, b: &ServiceVisit) -> bool {
    ServiceVisit {
        at_ms: 0,
        ..a.clone()
    } == ServiceVisit {
        at_ms: 0,
        ..b.clone()
    }
}
