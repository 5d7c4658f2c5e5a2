//! Transitions of a job in flight, addressed by job id: originated, requeued,
//! status callbacks, IVR steps, finish, lease extension.
//!
//! An id whose job does not exist is `Stale` (or "unknown job" for statuses):
//! the event belongs to nothing we track.

use std::time::Duration;

use super::connection::RedisStore;
use super::dispatch::{millis, transition};
use super::parse::{JobFields, answer_without_time, int_at, unexpected, verdict};
use crate::domain::CallStatus;
use crate::store::{
    Finish, IvrUpdate, JobRef, Planned, SaveIvr, StatusApplied, StatusConcluded, StoreError,
    Transition,
};

type Result<T> = std::result::Result<T, StoreError>;

impl RedisStore {
    pub(super) async fn mark_originated_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        lease: Duration,
    ) -> Result<Transition> {
        let (shard, id) = (job.shard, &job.id);
        let reply: String = self
            .scripts
            .mark_originated
            .key(self.keys.job(shard, id))
            .key(self.keys.counts(shard, &id.campaign))
            .key(self.keys.inflight(shard))
            .arg(attempt)
            .arg(call_sid)
            .arg(millis(lease))
            .arg(id.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        transition("mark_originated", &reply)
    }

    pub(super) async fn requeue_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        delay: Duration,
        reason: &str,
    ) -> Result<Transition> {
        let (shard, id) = (job.shard, &job.id);
        let reply: String = self
            .scripts
            .requeue
            .key(self.keys.job(shard, id))
            .key(self.keys.counts(shard, &id.campaign))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .arg(attempt)
            .arg(millis(delay))
            .arg(reason)
            .arg(id.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        transition("requeue", &reply)
    }

    pub(super) async fn apply_status_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
    ) -> Result<StatusApplied> {
        match self
            .status_script(job, attempt, call_sid, status, None)
            .await?
        {
            StatusConcluded::Applied(applied) => Ok(applied),
            concluded @ StatusConcluded::Concluded { .. } => Err(StoreError::Refused(format!(
                "apply_status concluded an attempt nobody planned: {concluded:?}"
            ))),
        }
    }

    pub(super) async fn apply_status_concluding_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: &Planned,
    ) -> Result<StatusConcluded> {
        self.status_script(job, attempt, call_sid, status, Some(planned))
            .await
    }

    /// `apply_status.lua`, with the conclusion `planned` for a terminal
    /// status when there is one.
    async fn status_script(
        &self,
        job: &JobRef,
        attempt: u32,
        call_sid: &str,
        status: CallStatus,
        planned: Option<&Planned>,
    ) -> Result<StatusConcluded> {
        let (shard, id) = (job.shard, &job.id);
        let key = self.keys.job(shard, id);
        let mut invocation = self.scripts.apply_status.key(&key);
        invocation
            .key(self.keys.counts(shard, &id.campaign))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.outbox(shard))
            .arg(attempt)
            .arg(call_sid)
            .arg(status.as_str())
            .arg(status.rank())
            .arg(if status.is_terminal() { "1" } else { "" });
        if let Some(plan) = planned {
            let (kind, detail, reason) = finish_args(&plan.finish);
            invocation
                .arg(plan.step)
                .arg(plan.dials)
                .arg(if plan.has_answers { "1" } else { "0" })
                .arg(kind)
                .arg(detail)
                .arg(if reason.is_some() { "1" } else { "0" })
                .arg(reason.unwrap_or_default())
                .arg(id.to_string());
        }
        let reply: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        let (head, fields) = verdict("apply_status", &reply)?;
        let advanced = match head {
            "none" => {
                return Ok(StatusConcluded::Applied(StatusApplied {
                    known: false,
                    job: None,
                    advanced: false,
                }));
            }
            "concluded" if planned.is_some() => {
                return Ok(StatusConcluded::Concluded {
                    advanced: fields.first().map(String::as_str) == Some("1"),
                });
            }
            "1" => true,
            "0" => false,
            _ => return Err(unexpected("apply_status", &reply)),
        };
        let job = if status.is_terminal() {
            let job = self
                .job_from(JobFields::from_flat(&key, fields), id, shard)
                .await?;
            Some(Box::new(job))
        } else {
            None
        };
        Ok(StatusConcluded::Applied(StatusApplied {
            known: true,
            job,
            advanced,
        }))
    }

    pub(super) async fn save_ivr_impl(&self, job: &JobRef, update: &IvrUpdate) -> Result<SaveIvr> {
        let (shard, id) = (job.shard, &job.id);
        let script = &self.scripts.save_ivr;
        let mut invocation = script.key(self.keys.job(shard, id));
        invocation
            .arg(update.attempt)
            .arg(update.expected_step)
            .arg(&update.session)
            .arg(&update.response);
        let attribution = match &update.attribution {
            Some(a) => serde_json::to_string(a)
                .map_err(|e| StoreError::Refused(format!("attribution does not serialize: {e}")))?,
            None => String::new(),
        };
        invocation.arg(attribution);
        let bridge = match &update.bridge {
            Some(b) => serde_json::to_string(b).map_err(|e| {
                StoreError::Refused(format!("bridge report does not serialize: {e}"))
            })?,
            None => String::new(),
        };
        invocation.arg(bridge);
        for answer in &update.new_answers {
            invocation.arg(answer_without_time(answer)?);
        }
        let reply: Vec<String> = invocation.invoke_async(&mut self.conn.clone()).await?;
        match verdict("save_ivr", &reply)?.0 {
            "saved" => {
                let step = int_at("save_ivr", &reply, 1)?;
                let step = u32::try_from(step).map_err(|_| unexpected("save_ivr", &reply))?;
                Ok(SaveIvr::Saved { step })
            }
            "duplicate" => Ok(SaveIvr::Duplicate {
                response: reply.get(1).cloned(),
            }),
            "stale" => Ok(SaveIvr::Stale),
            _ => Err(unexpected("save_ivr", &reply)),
        }
    }

    pub(super) async fn finish_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        expected_step: Option<u32>,
        finish: &Finish,
    ) -> Result<Transition> {
        let (shard, id) = (job.shard, &job.id);
        let (kind, detail, reason) = finish_args(finish);
        let reply: String = self
            .scripts
            .finish
            .key(self.keys.job(shard, id))
            .key(self.keys.counts(shard, &id.campaign))
            .key(self.keys.delayed(shard))
            .key(self.keys.inflight(shard))
            .key(self.keys.outbox(shard))
            .arg(attempt)
            .arg(expected_step.map(|s| s.to_string()).unwrap_or_default())
            .arg(kind)
            .arg(detail)
            .arg(if reason.is_some() { "1" } else { "0" })
            .arg(reason.unwrap_or_default())
            .arg(id.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        transition("finish", &reply)
    }

    pub(super) async fn extend_lease_impl(
        &self,
        job: &JobRef,
        attempt: u32,
        lease: Duration,
    ) -> Result<Transition> {
        let (shard, id) = (job.shard, &job.id);
        let reply: String = self
            .scripts
            .extend_lease
            .key(self.keys.job(shard, id))
            .key(self.keys.inflight(shard))
            .arg(attempt)
            .arg(millis(lease))
            .arg(id.to_string())
            .invoke_async(&mut self.conn.clone())
            .await?;
        transition("extend_lease", &reply)
    }
}

/// A finish as `finish.lua` (and a plan of `apply_status.lua`) take it:
/// kind, delay in ms or outcome, reason.
fn finish_args(finish: &Finish) -> (&'static str, String, Option<&str>) {
    match finish {
        Finish::Retry { delay, reason } => ("retry", millis(*delay).to_string(), Some(reason)),
        Finish::Terminal { outcome, reason } => {
            ("terminal", outcome.as_str().to_owned(), reason.as_deref())
        }
    }
}
