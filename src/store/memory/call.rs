//! Call transitions: IVR steps during a call and the end of an attempt.
//!
//! | operation | fence | effect |
//! |---|---|---|
//! | `save_ivr` | attempt, dialing/in_call, `ivr_step == expected` | session, answers (stamped now), response, step+1 |
//! | `save_ivr` replay | `ivr_step == expected + 1` | `Duplicate` with the saved response |
//! | `finish` Retry | attempt, dialing/in_call, optional step | retry_wait, delayed now+delay |
//! | `finish` Terminal | same | outcome state, feedback record to the shard outbox |
//! | `apply_status_concluding` | the status's (see `dial`), then the call's sid, step, dials, answers as planned | the status; then `finish` as planned, else nothing more |
//!
//! Owns: these transitions and building the feedback record. Does not own:
//! deciding outcomes or retry delays (the caller's policy).

use std::time::Duration;

use super::state::{Now, State, set_state};
use crate::domain::{Attribution, CallStatus, FeedbackRecord, JobState, Outcome, flags_of};
use crate::store::{
    Finish, IvrUpdate, Job, JobRef, Planned, Result, SaveIvr, StatusConcluded, StoreError,
    Transition,
};

/// The feedback record format version this backend writes.
const RECORD_VERSION: u32 = 1;

fn in_call(job: &Job, attempt: u32) -> bool {
    job.attempt == attempt && matches!(job.state, JobState::Dialing | JobState::InCall)
}

impl State {
    pub fn save_ivr(&mut self, now: Now, r: &JobRef, update: &IvrUpdate) -> SaveIvr {
        let id = &r.id;
        let Some(job) = self.jobs.get_mut(id).filter(|j| j.shard == r.shard) else {
            return SaveIvr::Stale;
        };
        if !in_call(job, update.attempt) {
            return SaveIvr::Stale;
        }
        if job.ivr_step == update.expected_step {
            job.ivr = Some(update.session.clone());
            if update.attribution.is_some() {
                job.attribution = update.attribution.clone();
            }
            if update.bridge.is_some() {
                job.bridge = update.bridge.clone();
            }
            job.answers
                .extend(update.new_answers.iter().cloned().map(|mut answer| {
                    answer.at_ms = now.ms;
                    answer
                }));
            job.last_response = Some(update.response.clone());
            job.ivr_step += 1;
            job.updated_at_ms = now.ms;
            SaveIvr::Saved { step: job.ivr_step }
        } else if Some(job.ivr_step) == update.expected_step.checked_add(1) {
            SaveIvr::Duplicate {
                response: job.last_response.clone(),
            }
        } else {
            SaveIvr::Stale
        }
    }

    /// A terminal status and, when the job still is as `planned` read it,
    /// the planned conclusion, under one lock (see `Store`).
    pub fn apply_status_concluding(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: &Planned,
    ) -> Result<StatusConcluded> {
        let applied = self.apply_status(now, r, attempt, call_sid, status);
        let holds = applied.job.as_deref().is_some_and(|job| {
            in_call(job, attempt)
                && job.call_sid.as_deref() == Some(call_sid)
                && job.ivr_step == planned.step
                && job.dials == planned.dials
                && job.answers.is_empty() != planned.has_answers
        });
        if holds
            && self.finish(now, r, attempt, Some(planned.step), &planned.finish)?
                == Transition::Applied
        {
            return Ok(StatusConcluded::Concluded {
                advanced: applied.advanced,
            });
        }
        Ok(StatusConcluded::Applied(applied))
    }

    /// Ends an attempt. A terminal finish writes the record to the outbox as
    /// JSON, exactly what the Redis backend stores, so `read_feedback` goes
    /// through the same serde contract downstream consumers rely on.
    pub fn finish(
        &mut self,
        now: Now,
        r: &JobRef,
        attempt: u32,
        expected_step: Option<u32>,
        finish: &Finish,
    ) -> Result<Transition> {
        let id = &r.id;
        let State {
            shards,
            jobs,
            counts,
            ..
        } = self;
        let Some(job) = jobs.get_mut(id).filter(|j| j.shard == r.shard) else {
            return Ok(Transition::Stale);
        };
        let step_holds = expected_step.is_none_or(|step| step == job.ivr_step);
        if !in_call(job, attempt) || !step_holds {
            return Ok(Transition::Stale);
        }
        let shard = &mut shards[usize::from(job.shard)];
        let past_deadline = |delay: &Duration| {
            job.spec
                .not_after_ms
                .is_some_and(|deadline| now.ms_after(*delay) > deadline)
        };
        match finish {
            Finish::Retry { delay, reason } if past_deadline(delay) => {
                shard.inflight.remove(id);
                let why = format!("a retry would come after the deadline ({reason})");
                end_waiting(counts, &mut shard.outbox, job, Outcome::Expired, &why, now)?;
            }
            Finish::Retry { delay, reason } => {
                set_state(counts, job, JobState::RetryWait, now);
                job.reason = Some(reason.clone());
                shard.inflight.remove(id);
                shard.delayed.insert(id, now.ms_after(*delay));
            }
            Finish::Terminal { outcome, reason } => {
                // Serialise first: if that failed, nothing must have changed.
                let record = feedback_record(job, *outcome, reason.clone(), now);
                let json = serde_json::to_string(&record)
                    .map_err(|e| StoreError::Refused(format!("feedback record for {id}: {e}")))?;
                set_state(counts, job, JobState::Done(*outcome), now);
                job.reason = reason.clone();
                shard.inflight.remove(id);
                shard.outbox.add(now.ms, json);
            }
        }
        Ok(Transition::Applied)
    }
}

/// Ends a job that is not in a call (waiting, parked, or just read from the
/// ready stream) in terminal `outcome`, writing its record to the outbox.
pub(super) fn end_waiting(
    counts: &mut super::state::Counts,
    outbox: &mut super::stream::Stream<String>,
    job: &mut Job,
    outcome: Outcome,
    reason: &str,
    now: Now,
) -> Result<()> {
    let record = feedback_record(job, outcome, Some(reason.to_owned()), now);
    let json = serde_json::to_string(&record)
        .map_err(|e| StoreError::Refused(format!("feedback record for {}: {e}", job.id)))?;
    set_state(counts, job, JobState::Done(outcome), now);
    job.reason = Some(reason.to_owned());
    outbox.add(now.ms, json);
    Ok(())
}

/// The record for a job reaching `outcome` now.
fn feedback_record(
    job: &Job,
    outcome: Outcome,
    reason: Option<String>,
    now: Now,
) -> FeedbackRecord {
    let contact = &job.spec.contact;
    // An inbound call's record is about what the caller named, not the
    // placeholder contact the job was created with.
    let attribution = job.attribution.clone().unwrap_or_else(|| Attribution {
        campaign_id: job.spec.campaign_id.to_string(),
        contact_id: contact.id.to_string(),
        official_id: contact.official_id.to_string(),
        department: job.spec.department.clone(),
        office: contact.office.clone(),
        service: contact.service.clone(),
        attributed: true,
    });
    FeedbackRecord {
        version: RECORD_VERSION,
        record_id: job.id.to_string(),
        campaign_id: attribution.campaign_id,
        contact_id: attribution.contact_id,
        official_id: attribution.official_id,
        department: attribution.department,
        office: attribution.office,
        service: attribution.service,
        outcome,
        reason,
        attempts: job.dials,
        answers: job.answers.clone(),
        flags: flags_of(&job.answers),
        queued_at_ms: job.queued_at_ms,
        first_dialled_at_ms: job.first_dialled_at_ms,
        finished_at_ms: now.ms,
        direction: job.spec.direction,
        attributed: attribution.attributed,
        bridge: job.bridge.clone(),
    }
}
