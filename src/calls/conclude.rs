//! Ending an attempt whose call reached a terminal provider status: the one
//! status → conclude sequence, shared by status webhooks and the reconciler
//! so both decide the same way.

use tracing::{info, warn};

use super::inbound::InboundPolicy;
use super::official;
use super::{CallCore, CallError, after_call, after_call_with, after_machine, session};
use crate::domain::{CallStatus, Direction, JobState, Outcome};
use crate::store::{Finish, Job, JobRef, Planned, StatusConcluded, Transition};

/// How many times to re-decide when an IVR step lands between our read and
/// our write (each retry re-reads the job).
const MAX_RACES: usize = 5;

impl CallCore {
    /// Applies a provider status for attempt `attempt` of `job` (ranked, never
    /// backwards) and, when it is terminal, concludes the attempt. Returns
    /// the decision applied, if this event concluded the attempt.
    pub async fn on_status(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> Result<Option<Finish>, CallError> {
        if self.progress_known(job, attempt, call_sid, status) {
            return Ok(None);
        }
        let applied = match self.planned(job, attempt, status) {
            Some((plan, copy)) => {
                if let Finish::Terminal { outcome, .. } = &plan.finish {
                    self.before_terminal(&copy, *outcome).await?;
                }
                match self
                    .store
                    .apply_status_concluding(job, attempt, call_sid, status, &plan)
                    .await?
                {
                    StatusConcluded::Concluded { .. } => {
                        self.live.forget(job);
                        self.concluded(job, call_sid, status, &plan.finish);
                        return Ok(Some(plan.finish));
                    }
                    // Our copy was behind: decide from the stored job.
                    StatusConcluded::Applied(applied) => applied,
                }
            }
            None => {
                self.store
                    .apply_status(job, attempt, call_sid, status)
                    .await?
            }
        };
        if !applied.known {
            warn!(job.id = %job.id, call.sid = %call_sid, "status for an unknown job");
            return Ok(None);
        }
        if !status.is_terminal() {
            return Ok(None);
        }
        self.live.forget(job);
        let decision = self
            .conclude(job, attempt, call_sid, status, applied.job.map(|j| *j))
            .await?;
        if let Some(d) = &decision {
            self.concluded(job, call_sid, status, d);
        }
        Ok(decision)
    }

    /// Whether `status` only reports the progress of an outbound call this
    /// instance placed and whose call id the store recorded
    /// (`LiveCalls::originated`): the job is then `in_call` with that call,
    /// and the status would change nothing but the job's last-status
    /// fields, which no decision reads (the terminal status sets them), so
    /// it costs no round trip. Anything else (a terminal status, another
    /// call id, a call this instance did not place or whose record it did
    /// not see) goes to the store, fenced, as before.
    fn progress_known(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> bool {
        if status.is_terminal() {
            return false;
        }
        self.live.of(job, attempt).is_some_and(|copy| {
            copy.spec.direction == Direction::Outbound && copy.call_sid.as_deref() == Some(call_sid)
        })
    }

    /// The conclusion of a terminal `status`, decided from this instance's
    /// copy of the job (`LiveCalls`), with what the decision read, so the
    /// store applies it with the status only if the job still is so.
    /// Inbound calls are concluded from the stored job (their conclusion
    /// also releases the caller's line).
    fn planned(
        &self,
        job: &JobRef,
        attempt: u32,
        status: CallStatus,
    ) -> Option<(Planned, std::sync::Arc<Job>)> {
        if !status.is_terminal() {
            return None;
        }
        let copy = self.live.of(job, attempt)?;
        if copy.spec.direction == Direction::Inbound {
            return None;
        }
        let plan = Planned {
            step: copy.ivr_step,
            dials: copy.dials,
            has_answers: !copy.answers.is_empty(),
            finish: self.decide(&copy, status),
        };
        Some((plan, copy))
    }

    fn concluded(&self, job: &JobRef, call_sid: &str, status: CallStatus, decision: &Finish) {
        self.metrics.concluded(decision);
        info!(job.id = %job.id, call.sid = %call_sid, status = %status, decision = %describe(decision), "call concluded");
    }

    /// Ends the attempt after its call `call_sid` reached terminal `status`:
    /// decides the outcome from the job's IVR session and applies it, fenced
    /// by the IVR step. A status about another call than the one the attempt
    /// holds changes nothing. `None`: the attempt had already ended (a
    /// duplicate or stale event). `snapshot` is the job as the caller just
    /// read it, saving a read; it is re-read on a race.
    async fn conclude(
        &self,
        job_ref: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        mut snapshot: Option<Job>,
    ) -> Result<Option<Finish>, CallError> {
        for _ in 0..MAX_RACES {
            let job = match snapshot.take() {
                Some(job) => job,
                None => match self.store.load_job(job_ref).await? {
                    Some(job) => job,
                    None => return Ok(None),
                },
            };
            let live = matches!(job.state, JobState::Dialing | JobState::InCall);
            if job.attempt != attempt || !live || job.call_sid.as_deref() != Some(call_sid) {
                return Ok(None);
            }
            let finish = self.decide(&job, status);
            if let Finish::Terminal { outcome, .. } = &finish {
                self.before_terminal(&job, *outcome).await?;
            }
            match self
                .store
                .finish(job_ref, attempt, Some(job.ivr_step), &finish)
                .await?
            {
                Transition::Applied => {
                    if job.spec.direction == Direction::Inbound {
                        self.release_inbound(job_ref, call_sid).await;
                    }
                    return Ok(Some(finish));
                }
                Transition::Stale => continue,
            }
        }
        warn!(job.id = %job_ref.id, "IVR kept changing while concluding; leaving it to the reconciler");
        Ok(None)
    }

    /// The outcome table (`after_call`) applied to the job's session, or
    /// `after_machine` when a machine picked the call up; an inbound call is
    /// never redialled.
    fn decide(&self, job: &Job, status: CallStatus) -> Finish {
        let ladder = job.spec.retry.as_ref();
        let stored = job
            .ivr
            .as_deref()
            .map(|raw| session::concluding(&job.job_ref(), raw));
        if let (Direction::Outbound, Some((Some(by), _))) = (job.spec.direction, stored) {
            return after_machine(job, status, by, &self.retry, ladder);
        }
        let session = stored.map(|(_, status)| status);
        match job.spec.direction {
            Direction::Outbound => after_call_with(job, status, session, &self.retry, ladder),
            Direction::Inbound => after_call(job, status, session, &InboundPolicy::retry()),
            Direction::Official => official::decide(job, status, &self.retry, ladder),
        }
    }

    /// Effects that must exist before a terminal record does (each
    /// idempotent, so a conclusion that loses a race and runs again is safe).
    async fn before_terminal(&self, job: &Job, outcome: Outcome) -> Result<(), CallError> {
        if outcome == Outcome::OptedOut {
            self.store.record_opt_out(&job.spec.contact.phone).await?;
        }
        if job.spec.direction == Direction::Inbound {
            self.queue_callback(job).await?;
        }
        Ok(())
    }
}

/// A decision in words, for logs.
pub(super) fn describe(finish: &Finish) -> String {
    match finish {
        Finish::Retry { delay, reason } => format!("retry in {}s ({reason})", delay.as_secs()),
        Finish::Terminal { outcome, .. } => outcome.to_string(),
    }
}
