//! `LiveCalls`: this instance's copy of the jobs of the calls it is
//! serving, so an answer or gather webhook costs one Redis round trip (the
//! fenced `save_ivr`) instead of a read of the job and then the save.
//!
//! | event | the copy |
//! |---|---|
//! | the dialer placed the call (`placed`) | the job as authorised: no session, step 0 |
//! | the store recorded the call's id (`originated`) | the same, with the call id |
//! | a step was saved here (`saved`) | the job with that session, step and reply |
//! | a terminal status arrives (`of`) | the conclusion is decided from it and applied with the status, fenced (`Store::apply_status_concluding`) |
//! | a terminal status was applied here, or a save came back stale (`forget`) | gone |
//!
//! Correctness never depends on the copy. A copy is only used for the step
//! it was taken at (same job, attempt and IVR step), and the save it leads
//! to is fenced by attempt and step in `save_ivr.lua`: once another
//! instance (or a repeated webhook) moved the call on, the save answers
//! `duplicate` (the stored reply is replayed, as a cold read would) or
//! `stale` (the core reads the job and decides as if it had no copy). What
//! a step stores at (job, attempt, step) never changes once written, so a
//! copy taken after a successful save is the stored session. An instance
//! that never saw the call (behind a load balancer) reads the job, as before.
//!
//! Bounded without a clock or a scan: two generations of at most `cap / 2`
//! entries each; when the young one fills, it becomes the old one and the
//! old one is dropped. A call still live after `cap / 2` newer calls were
//! placed or stepped here simply goes back to reading its job.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::urls::CallRef;
use crate::domain::Answer;
use crate::store::{Job, JobRef};

/// How many calls' jobs an instance keeps (about 1 KB each).
const DEFAULT_CAP: usize = 20_000;

/// Jobs of calls this instance is serving, by job.
pub struct LiveCalls {
    inner: Mutex<Generations>,
    cap: usize,
}

#[derive(Default)]
struct Generations {
    young: HashMap<JobRef, Arc<Job>>,
    old: HashMap<JobRef, Arc<Job>>,
}

impl Default for LiveCalls {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAP)
    }
}

impl LiveCalls {
    /// Keeps at most `cap` jobs.
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            inner: Mutex::default(),
            cap: cap.max(2),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn put(&self, job: Job) {
        let key = job.job_ref();
        let mut g = self.inner();
        g.old.remove(&key);
        g.young.insert(key, Arc::new(job));
        if g.young.len() >= self.cap / 2 {
            g.old = std::mem::take(&mut g.young);
        }
    }

    /// The dialer is placing a call for `job` (as `authorize` returned
    /// it). The copy counts the dial, as the store does once the call is
    /// recorded (`mark_originated`, or a status that adopts the call).
    pub fn placed(&self, job: &Job) {
        if job.ivr.is_none() && job.ivr_step == 0 {
            let mut copy = job.clone();
            copy.dials += 1;
            self.put(copy);
        }
    }

    /// The store recorded call `sid` for attempt `attempt` of `job`
    /// (`mark_originated` applied): the copy knows the call, so a status
    /// that only reports its progress needs no round trip (`on_status`).
    pub fn originated(&self, job: &JobRef, attempt: u32, sid: &str) {
        let mut g = self.inner();
        let Generations { young, old } = &mut *g;
        if let Some(copy) = young.get_mut(job).or_else(|| old.get_mut(job))
            && copy.attempt == attempt
            && copy.call_sid.is_none()
        {
            Arc::make_mut(copy).call_sid = Some(sid.to_owned());
        }
    }

    /// Step `step` of `job` was saved with `session`, `answers` (their
    /// times are the store's, not kept here) and reply `response`; the
    /// call now waits for step `step + 1`.
    pub(super) fn saved(
        &self,
        mut next: Job,
        step: u32,
        session: String,
        answers: &[Answer],
        response: String,
    ) {
        next.ivr = Some(session);
        next.ivr_step = step + 1;
        next.answers.extend_from_slice(answers);
        next.last_response = Some(response);
        self.put(next);
    }

    /// The copy of `call`'s job if it was taken at IVR step `step` of the
    /// same attempt.
    pub(super) fn at(&self, call: &CallRef, step: u32) -> Option<Arc<Job>> {
        let g = self.inner();
        let job = g.young.get(&call.job).or_else(|| g.old.get(&call.job))?;
        (job.attempt == call.attempt && job.ivr_step == step).then(|| job.clone())
    }

    /// The copy of attempt `attempt` of `job`, at whatever step.
    pub(super) fn of(&self, job: &JobRef, attempt: u32) -> Option<Arc<Job>> {
        let g = self.inner();
        let copy = g.young.get(job).or_else(|| g.old.get(job))?;
        (copy.attempt == attempt).then(|| copy.clone())
    }

    /// Drops the copy of `job`'s job (ended, or moved on elsewhere).
    pub fn forget(&self, job: &JobRef) {
        let mut g = self.inner();
        g.young.remove(job);
        g.old.remove(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::outcome::tests::job;
    use crate::domain::{ContactId, JobId};

    /// A placed call's job for contact `n`, attempt 1.
    fn placed(n: u32) -> Job {
        let mut j = job(0);
        j.attempt = 1;
        j.id = JobId::new(
            j.id.campaign.clone(),
            ContactId::parse(&format!("k{n}")).unwrap(),
        );
        j
    }

    fn call(j: &Job) -> CallRef {
        CallRef {
            job: j.job_ref(),
            attempt: j.attempt,
        }
    }

    #[test]
    fn a_copy_serves_only_its_attempt_and_step() {
        let live = LiveCalls::default();
        let j = placed(1);
        live.placed(&j);
        let copy = live.at(&call(&j), 0).expect("the placed job");
        assert_eq!(copy.dials, 1, "the dial is counted as the store will");
        assert!(live.at(&call(&j), 1).is_none());
        let other_attempt = CallRef {
            job: j.job_ref(),
            attempt: 2,
        };
        assert!(live.at(&other_attempt, 0).is_none());
        assert!(live.of(&j.job_ref(), 2).is_none());

        live.saved((*copy).clone(), 0, "{}".into(), &[], "<Response/>".into());
        assert!(live.at(&call(&j), 0).is_none(), "step 0 is behind now");
        let next = live.at(&call(&j), 1).expect("the job at step 1");
        assert_eq!(next.ivr.as_deref(), Some("{}"));
        assert_eq!(next.last_response.as_deref(), Some("<Response/>"));
        assert_eq!(live.of(&j.job_ref(), 1).map(|c| c.ivr_step), Some(1));

        live.forget(&j.job_ref());
        assert!(live.at(&call(&j), 1).is_none());
    }

    #[test]
    fn the_recorded_call_id_is_kept_only_for_its_attempt() {
        let live = LiveCalls::default();
        let j = placed(1);
        live.placed(&j);
        live.originated(&j.job_ref(), 2, "CA2");
        assert_eq!(live.of(&j.job_ref(), 1).unwrap().call_sid, None);
        live.originated(&j.job_ref(), 1, "CA1");
        assert_eq!(
            live.of(&j.job_ref(), 1).unwrap().call_sid.as_deref(),
            Some("CA1")
        );
        // A call id the copy already holds is never replaced.
        live.originated(&j.job_ref(), 1, "CA9");
        assert_eq!(
            live.of(&j.job_ref(), 1).unwrap().call_sid.as_deref(),
            Some("CA1")
        );
        // Nothing is kept for a call that has no copy.
        let other = placed(2);
        live.originated(&other.job_ref(), 1, "CA3");
        assert!(live.of(&other.job_ref(), 1).is_none());
    }

    #[test]
    fn a_job_with_a_session_is_not_kept_as_placed() {
        let live = LiveCalls::default();
        let mut j = placed(1);
        j.ivr = Some("{}".into());
        live.placed(&j);
        assert!(live.of(&j.job_ref(), 1).is_none());
    }

    #[test]
    fn at_most_cap_jobs_are_kept_and_the_oldest_go_first() {
        let live = LiveCalls::with_capacity(4);
        let jobs: Vec<Job> = (0..5).map(placed).collect();
        for j in &jobs[..2] {
            live.placed(j);
        }
        // The young generation (2) filled: both moved to the old one.
        assert!(jobs[..2].iter().all(|j| live.at(&call(j), 0).is_some()));
        live.placed(&jobs[2]);
        live.placed(&jobs[3]);
        // Filled again: the first two were dropped.
        assert!(jobs[..2].iter().all(|j| live.at(&call(j), 0).is_none()));
        assert!(jobs[2..4].iter().all(|j| live.at(&call(j), 0).is_some()));
        live.placed(&jobs[4]);
        assert!(live.at(&call(&jobs[4]), 0).is_some());
    }
}
