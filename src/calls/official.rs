//! An official's call (campaign `kind: "official"`): the dialer rings the
//! official (the job's `official_call.phone`); here, once they answer, they
//! hear the brief and the citizen is dialled with the programme's caller id
//! (`Action::Dial`); the citizen's leg's end arrives on the bridge route,
//! after which the official keys the disposition, or hears that the citizen
//! was not reached and may ask to try again later.
//!
//! | callback | then |
//! |---|---|
//! | answer | brief + dial the citizen, saved as step 0 |
//! | whisper | the consent notice, in the citizen's language (recorded campaigns only) |
//! | bridge (step fenced) | the leg's report saved with the next step: disposition questions, or the not-reached offer |
//! | gather | the disposition survey's step, or the official's answer to the offer |
//! | status (terminal) | `decide`: see below |
//!
//! The bridge happens inside the official's call, so a crash never bridges
//! twice: the job stays in flight with its call id, and the reconciler
//! concludes it from the provider's status like any call.

use tracing::{info, warn};

use super::service::Saved;
use super::session::{self, Stored};
use super::urls::CallRef;
use super::{CallCore, CallError, RetryPolicy, after_call_with};
use crate::dialplan::{
    Dialplan, Event, Leg, OfficialContext, OfficialSession, after_bridge, consent, start_official,
    step_official,
};
use crate::domain::{BridgeReport, CallStatus, Outcome, RetryLadder};
use crate::provider::{ActionUrls, BridgeResult, BridgeStatus};
use crate::store::{Finish, Job};

impl CallCore {
    /// The official answered: brief, then dial the citizen.
    pub(super) async fn official_answered(
        &self,
        job: &Job,
        plan: &Dialplan,
    ) -> Result<Option<String>, CallError> {
        let Some(official) = &job.spec.official_call else {
            return Ok(Some(self.hangup()));
        };
        let contact = &job.spec.contact;
        let ctx = OfficialContext {
            language: official.language.clone(),
            citizen_language: contact.language.clone(),
            office: contact.office.clone(),
            service: contact.service.clone(),
            citizen: contact.first_name.clone(),
            visit_date: official.visit_date.clone(),
            to: contact.phone.as_str().to_owned(),
            caller_id: job.spec.caller_id.as_str().to_owned(),
            record: official.record,
        };
        let Some(out) = start_official(plan, &ctx) else {
            warn!(job.id = %job.id, dialplan = %plan.name(), "an official's call names a plan without [bridge]; hanging up");
            return Ok(Some(self.hangup()));
        };
        info!(job.id = %job.id, "official answered; briefing and connecting the citizen");
        let encoded = session::encode(&Stored::Official(out.session))?;
        self.save(
            job,
            0,
            encoded,
            out.new_answers,
            &out.actions,
            Saved::default(),
        )
        .await
    }

    /// The citizen's leg ended: the disposition questions or the
    /// not-reached offer, saved with the leg's report.
    pub(super) async fn bridged(
        &self,
        call: &CallRef,
        step_no: u32,
        result: BridgeResult,
    ) -> Result<String, CallError> {
        let Some((job, plan, session)) = self.official_step(call, step_no).await? else {
            return self.replay(call, step_no).await;
        };
        let leg = leg_of(result.status);
        info!(job.id = %job.id, leg = result.status.as_str(), talk_secs = result.duration_secs, "citizen's leg ended");
        let out = after_bridge(&plan, &session, leg);
        let report = BridgeReport {
            outcome: result.status.as_str().to_owned(),
            talk_secs: result.duration_secs,
            recording: result.recording,
        };
        let encoded = session::encode(&Stored::Official(out.session))?;
        let with = Saved {
            attribution: None,
            bridge: Some(report),
        };
        let reply = self
            .save(&job, step_no, encoded, out.new_answers, &out.actions, with)
            .await?;
        Ok(self.or_hangup(reply))
    }

    /// Keys the official pressed after the bridge.
    pub(super) async fn official_gather(
        &self,
        job: &Job,
        plan: &Dialplan,
        session: OfficialSession,
        step_no: u32,
        digits: &str,
    ) -> Result<Option<String>, CallError> {
        let out = step_official(plan, &session, &Event::Digits(digits.to_owned()));
        let encoded = session::encode(&Stored::Official(out.session))?;
        self.save(
            job,
            step_no,
            encoded,
            out.new_answers,
            &out.actions,
            Saved::default(),
        )
        .await
    }

    /// What the citizen hears before being connected: the consent notice.
    pub(super) async fn whisper(&self, call: &CallRef) -> Result<String, CallError> {
        let Some(job) = self.live_job(call).await? else {
            return Ok(self.hangup());
        };
        let (Some(plan), Some(raw)) = (self.dialplans.get(&job.spec.dialplan), job.ivr.as_deref())
        else {
            return Ok(self.hangup());
        };
        match session::decode(raw)? {
            Stored::Official(session) => Ok(self
                .control
                .render(&consent(&plan, &session), &ActionUrls::NONE)),
            _ => Ok(self.hangup()),
        }
    }

    /// The job, its plan and its official's session, when `step_no` is the
    /// step due; `None` otherwise.
    async fn official_step(
        &self,
        call: &CallRef,
        step_no: u32,
    ) -> Result<Option<(Job, std::sync::Arc<Dialplan>, OfficialSession)>, CallError> {
        let Some(job) = self.live_job(call).await? else {
            return Ok(None);
        };
        if job.ivr_step != step_no {
            return Ok(None);
        }
        let (Some(plan), Some(raw)) = (self.dialplans.get(&job.spec.dialplan), job.ivr.as_deref())
        else {
            return Ok(None);
        };
        match session::decode(raw)? {
            Stored::Official(session) => Ok(Some((job, plan, session))),
            _ => Ok(None),
        }
    }

    /// A request for a step that is not due: the reply of the step just
    /// saved (a duplicate), else a hang-up.
    async fn replay(&self, call: &CallRef, step_no: u32) -> Result<String, CallError> {
        let job = self.live_job(call).await?;
        let replay = job
            .filter(|j| j.ivr_step == step_no + 1)
            .and_then(|j| j.last_response);
        Ok(replay.unwrap_or_else(|| self.hangup()))
    }
}

fn leg_of(status: BridgeStatus) -> Leg {
    match status {
        BridgeStatus::Completed => Leg::Connected,
        BridgeStatus::Busy => Leg::Busy,
        BridgeStatus::NoAnswer => Leg::NoAnswer,
        BridgeStatus::Failed | BridgeStatus::Canceled => Leg::Failed,
    }
}

/// How an official's call ends, once the official's leg reached terminal
/// `status`:
///
/// | session | decision |
/// |---|---|
/// | none (the official did not answer, or the answer never reached us) | the outcome table, like any call |
/// | bridging (the call ended before the citizen's leg was reported) | `partial`, never redialled (the citizen may have been connected) |
/// | citizen connected | `completed` when the disposition was keyed, else `partial` |
/// | citizen not reached, official asked to try later | retried like an unanswered call of that outcome |
/// | citizen not reached, otherwise | that outcome (`busy`, `no_answer`, `failed`), ended |
pub(super) fn decide(
    job: &Job,
    status: CallStatus,
    policy: &RetryPolicy,
    ladder: Option<&RetryLadder>,
) -> Finish {
    let session = job
        .ivr
        .as_deref()
        .and_then(|raw| match session::decode(raw) {
            Ok(Stored::Official(s)) => Some(s),
            _ => None,
        });
    let Some(session) = session else {
        let status_of = job
            .ivr
            .as_deref()
            .map(|raw| session::status_of(&job.job_ref(), raw));
        return after_call_with(job, status, status_of, policy, ladder);
    };
    match session.leg() {
        None => Finish::Terminal {
            outcome: Outcome::Partial,
            reason: Some("the call ended before the citizen's leg was reported".into()),
        },
        Some(Leg::Connected) => after_call_with(
            job,
            CallStatus::Completed,
            Some(session.status()),
            policy,
            ladder,
        ),
        Some(leg) => {
            let (leg_status, outcome) = match leg {
                Leg::Busy => (CallStatus::Busy, Outcome::Busy),
                Leg::NoAnswer => (CallStatus::NoAnswer, Outcome::NoAnswer),
                _ => (CallStatus::Failed, Outcome::Failed),
            };
            if session.retry_later() {
                after_call_with(job, leg_status, None, policy, ladder)
            } else {
                Finish::Terminal {
                    outcome,
                    reason: Some(
                        "the citizen was not reached and the official did not ask to try again"
                            .into(),
                    ),
                }
            }
        }
    }
}
