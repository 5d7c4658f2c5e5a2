//! Ending an attempt whose call reached a terminal provider status. Shared by
//! the status webhook and the reconciler, so both decide the same way.

use tracing::warn;

use super::{RetryPolicy, after_call};
use crate::dialplan::{Session, SessionStatus};
use crate::domain::{CallStatus, JobId, JobState, Outcome};
use crate::store::{Finish, Job, Store, StoreError, Transition};

/// Why concluding failed (the caller retries later; nothing was lost).
#[derive(Debug, thiserror::Error)]
pub enum ConcludeError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times to re-decide when an IVR step lands between our read and
/// our write (each retry re-reads the job).
const MAX_RACES: usize = 5;

/// Ends attempt `attempt` of `job_id` after its call `call_sid` reached
/// terminal `status`: decides the outcome from the job's IVR session and
/// applies it, fenced by the IVR step. A status about another call than the
/// one the attempt holds changes nothing.
/// Returns the decision applied, or `None` when the attempt had already ended
/// (a duplicate or stale callback). `snapshot` is the job as the caller just
/// read it (e.g. from `apply_status`), saving a read; it is re-read on a race.
pub async fn conclude_call(
    store: &dyn Store,
    job_id: &JobId,
    attempt: u32,
    call_sid: &str,
    status: CallStatus,
    policy: &RetryPolicy,
    mut snapshot: Option<Job>,
) -> Result<Option<Finish>, ConcludeError> {
    for _ in 0..MAX_RACES {
        let job = match snapshot.take() {
            Some(job) => job,
            None => match store.load_job(job_id).await? {
                Some(job) => job,
                None => return Ok(None),
            },
        };
        let live = matches!(job.state, JobState::Dialing | JobState::InCall);
        if job.attempt != attempt || !live || job.call_sid.as_deref() != Some(call_sid) {
            return Ok(None);
        }
        let session = job.ivr.as_deref().map(|raw| session_status(job_id, raw));
        let finish = after_call(&job, status, session, policy);
        if matches!(
            finish,
            Finish::Terminal {
                outcome: Outcome::OptedOut,
                ..
            }
        ) {
            store.record_opt_out(&job.spec.contact.phone).await?;
        }
        match store
            .finish(job_id, attempt, Some(job.ivr_step), &finish)
            .await?
        {
            Transition::Applied => return Ok(Some(finish)),
            Transition::Stale => continue,
        }
    }
    warn!(job.id = %job_id, "IVR kept changing while concluding; leaving it to the reconciler");
    Ok(None)
}

/// The status of a stored IVR session. An unreadable session (written by an
/// incompatible version) counts as abandoned: the call was answered, so a
/// redial would call the citizen twice.
fn session_status(job_id: &JobId, raw: &str) -> SessionStatus {
    match serde_json::from_str::<Session>(raw) {
        Ok(session) => session.status(),
        Err(e) => {
            warn!(job.id = %job_id, error = %e, "stored IVR session is unreadable");
            SessionStatus::Abandoned
        }
    }
}
