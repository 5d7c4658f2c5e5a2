//! `CallCore`: what happens on a call, whichever provider carries it. The
//! webhook server verifies a request with the provider's `CallControl`, then
//! hands the parsed callback here; the reconciler concludes calls through the
//! same core (`on_status`).
//!
//! | callback | job is the attempt's, live | then |
//! |---|---|---|
//! | answer | no | hang up |
//! | answer | yes, session saved | replay the saved reply (duplicate) |
//! | answer | yes, no session, a machine or fax picked up (AMD) | save the pick-up as step 0, hang up |
//! | answer | yes, no session | start the dialplan, save step 0, reply |
//! | gather | no, or step is older | hang up, or replay the reply of the step just saved |
//! | gather | yes, step matches | engine step, opt-out, save (fenced by step), reply |
//! | status | — | `on_status`: rank, and conclude on a terminal status |
//! | answer, bridge, whisper, gather of an official's call | see `official` | |
//! | inbound, inbound status | see `inbound` | |
//!
//! Every reply is committed before it is returned (G4): a duplicate webhook
//! replays the stored reply, a stale one gets a hang-up.
//!
//! An answer or gather whose job this instance holds at the step asked
//! (`LiveCalls`: it placed the call, or saved the step before) is decided
//! from that copy and costs one round trip, the fenced save; a stale save
//! from a copy falls back to reading the job, as an instance without a copy
//! does from the start.

use std::sync::Arc;

use tracing::{debug, error, info};

use super::inbound::{InboundPolicy, inbound_job};
use super::live::LiveCalls;
use super::session::{self, MachinePickUp, Stored};
use super::urls::{CallRef, Callback, CallbackUrls};
use super::{CallError, RetryPolicy};
use crate::dialplan::{Action, CallContext, Dialplans, Event, SessionStatus, start, step};
use crate::domain::{Answer, Attribution, BridgeReport, JobState};
use crate::provider::{ActionUrls, AnsweredBy, CallControl, Params};
use crate::store::{IvrUpdate, Job, SaveIvr, Store};
use crate::telemetry::Metrics;

/// What a handled callback answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Call-control markup (`CallControl::content_type`).
    Markup(String),
    /// Nothing to say (status callbacks).
    Empty,
}

/// What a saved step writes besides the session: whom an inbound call's
/// record is about, an official's call's citizen leg.
#[derive(Clone, Debug, Default)]
pub(super) struct Saved {
    pub attribution: Option<Attribution>,
    pub bridge: Option<BridgeReport>,
}

/// The provider-neutral call core; cheap to share behind an `Arc`.
pub struct CallCore {
    pub(super) store: Arc<dyn Store>,
    pub(super) control: Arc<dyn CallControl>,
    pub(super) dialplans: Arc<Dialplans>,
    pub(super) urls: CallbackUrls,
    pub(super) retry: RetryPolicy,
    pub(super) metrics: Arc<Metrics>,
    /// How inbound calls are taken; `None`: they are not.
    pub(super) inbound: Option<InboundPolicy>,
    /// The jobs of the calls this instance is serving (see `live`).
    pub(super) live: Arc<LiveCalls>,
}

impl CallCore {
    pub fn new(
        store: Arc<dyn Store>,
        control: Arc<dyn CallControl>,
        dialplans: Arc<Dialplans>,
        public_url: &str,
        retry: RetryPolicy,
        metrics: Arc<Metrics>,
    ) -> Self {
        let urls = CallbackUrls::new(public_url, control.path_prefix(), store.shards());
        Self {
            store,
            control,
            dialplans,
            urls,
            retry,
            metrics,
            inbound: None,
            live: Arc::new(LiveCalls::default()),
        }
    }

    /// Takes inbound calls under `policy`.
    pub fn with_inbound(mut self, policy: Option<InboundPolicy>) -> Self {
        self.inbound = policy;
        self
    }

    /// Where the dialer leaves the jobs of the calls it placed, so their
    /// first webhook needs no read.
    pub fn live_calls(&self) -> Arc<LiveCalls> {
        self.live.clone()
    }

    /// The callback URLs calls placed through this core carry.
    pub fn urls(&self) -> &CallbackUrls {
        &self.urls
    }

    pub fn control(&self) -> &Arc<dyn CallControl> {
        &self.control
    }

    /// Markup that only ends the call.
    pub fn hangup(&self) -> String {
        self.control.render(&[Action::Hangup], &ActionUrls::NONE)
    }

    /// Handles one verified callback.
    pub async fn handle(&self, callback: &Callback, params: &Params) -> Result<Reply, CallError> {
        match callback {
            Callback::Answer { call, answered_by } => {
                // Detection's verdict: on the request, or carried over a hold.
                let answered_by = answered_by.or_else(|| self.control.answered_by(params));
                self.answer(call, answered_by).await.map(Reply::Markup)
            }
            Callback::Gather { call, step, digits } => {
                let digits = digits
                    .clone()
                    .unwrap_or_else(|| self.control.digits(params));
                self.gather(call, *step, &digits).await.map(Reply::Markup)
            }
            Callback::Status(call) => {
                let event = self
                    .control
                    .status_event(params)
                    .map_err(|e| CallError::BadRequest(e.to_string()))?;
                self.on_status(&call.job, call.attempt, &event.call_sid, event.status)
                    .await?;
                Ok(Reply::Empty)
            }
            Callback::Bridge { call, step, leg } => {
                let result = match leg {
                    Some(leg) => leg.clone().into(),
                    None => self
                        .control
                        .bridge_result(params)
                        .map_err(|e| CallError::BadRequest(e.to_string()))?,
                };
                self.bridged(call, *step, result).await.map(Reply::Markup)
            }
            Callback::Whisper(call) => self.whisper(call).await.map(Reply::Markup),
            Callback::Inbound => self.inbound_answer(params).await.map(Reply::Markup),
            Callback::InboundStatus => {
                let event = self
                    .control
                    .status_event(params)
                    .map_err(|e| CallError::BadRequest(e.to_string()))?;
                let job = inbound_job(&event.call_sid, self.store.shards())?;
                self.on_status(&job, 1, &event.call_sid, event.status)
                    .await?;
                Ok(Reply::Empty)
            }
        }
    }

    /// The job, if this request belongs to its current, unfinished attempt.
    pub(super) async fn live_job(&self, call: &CallRef) -> Result<Option<Job>, CallError> {
        let job = self.store.load_job(&call.job).await?;
        Ok(job.filter(|j| {
            j.attempt == call.attempt && matches!(j.state, JobState::Dialing | JobState::InCall)
        }))
    }

    async fn answer(
        &self,
        call: &CallRef,
        answered_by: Option<AnsweredBy>,
    ) -> Result<String, CallError> {
        if let Some(job) = self.live.at(call, 0).filter(|j| j.ivr.is_none()) {
            if let Some(reply) = self.answer_job(&job, answered_by).await? {
                return Ok(reply);
            }
            // Our copy was behind: decide from the stored job.
            self.live.forget(&call.job);
        }
        let Some(job) = self.live_job(call).await? else {
            return Ok(self.hangup());
        };
        if job.ivr.is_some() {
            // The provider asked again: replay what we answered.
            return Ok(job.last_response.unwrap_or_else(|| self.hangup()));
        }
        let reply = self.answer_job(&job, answered_by).await?;
        Ok(self.or_hangup(reply))
    }

    /// Starts the call of `job` (live, no session yet) and saves step 0:
    /// the reply, or `None` when the save was stale.
    async fn answer_job(
        &self,
        job: &Job,
        answered_by: Option<AnsweredBy>,
    ) -> Result<Option<String>, CallError> {
        match answered_by {
            Some(by) if by.is_machine() => return self.machine_answered(job, by).await,
            Some(by) => {
                debug!(job.id = %job.id, answered_by = %by, "answering-machine detection let the survey start")
            }
            None => {}
        }
        let Some(plan) = self.dialplans.get(&job.spec.dialplan) else {
            error!(job.id = %job.id, dialplan = %job.spec.dialplan, "dialplan is no longer loaded; hanging up");
            return Ok(Some(self.hangup()));
        };
        if job.spec.official_call.is_some() {
            return self.official_answered(job, &plan).await;
        }
        let ctx = CallContext {
            language: job.spec.contact.language.clone(),
            office: job.spec.contact.office.clone(),
            service: job.spec.contact.service.clone(),
        };
        let out = start(&plan, &ctx);
        let encoded = session::encode(&Stored::Survey(out.session))?;
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

    /// A machine picked up: no survey is played. The pick-up is saved as
    /// the session (the conclusion reads it: outcome `machine`) with a
    /// hang-up as the reply, which a repeated answer webhook replays.
    async fn machine_answered(
        &self,
        job: &Job,
        by: AnsweredBy,
    ) -> Result<Option<String>, CallError> {
        info!(job.id = %job.id, answered_by = %by, "a machine answered; hanging up without the survey");
        let pick_up = Stored::Machine(MachinePickUp { answered_by: by });
        let encoded = session::encode(&pick_up)?;
        self.save(
            job,
            0,
            encoded,
            Vec::new(),
            &[Action::Hangup],
            Saved::default(),
        )
        .await
    }

    async fn gather(
        &self,
        call: &CallRef,
        step_no: u32,
        digits: &str,
    ) -> Result<String, CallError> {
        if let Some(job) = self.live.at(call, step_no) {
            if let Some(reply) = self.gather_job(&job, step_no, digits, true).await? {
                return Ok(reply);
            }
            self.live.forget(&call.job);
        }
        let Some(job) = self.live_job(call).await? else {
            return Ok(self.hangup());
        };
        if job.ivr_step != step_no {
            let replay = (job.ivr_step == step_no + 1)
                .then(|| job.last_response.clone())
                .flatten();
            return Ok(replay.unwrap_or_else(|| self.hangup()));
        }
        let reply = self.gather_job(&job, step_no, digits, false).await?;
        Ok(self.or_hangup(reply))
    }

    /// Step `step_no` of `job` (live, at that step) with the keys pressed:
    /// the reply, or `None` when the save was stale or, from our copy
    /// (`copy`), for a session the copy does not serve (an inbound call's
    /// answers are the stored ones; a machine's pick-up asked nothing).
    async fn gather_job(
        &self,
        job: &Job,
        step_no: u32,
        digits: &str,
        copy: bool,
    ) -> Result<Option<String>, CallError> {
        let (Some(plan), Some(raw)) = (self.dialplans.get(&job.spec.dialplan), job.ivr.as_deref())
        else {
            return Ok(Some(self.hangup()));
        };
        let before = match session::decode(raw)? {
            Stored::Survey(before) => before,
            Stored::Inbound(_) | Stored::Machine(_) if copy => return Ok(None),
            // Nothing was asked, so no gather can be due: end the call.
            Stored::Machine(_) => return Ok(Some(self.hangup())),
            Stored::Inbound(state) => {
                return self
                    .inbound_gather(job, &plan, state, step_no, digits)
                    .await;
            }
            Stored::Official(session) => {
                return self
                    .official_gather(job, &plan, session, step_no, digits)
                    .await;
            }
        };
        let out = step(&plan, &before, &Event::Digits(digits.to_owned()));
        self.note_opt_out(job, before.status(), out.session.status())
            .await?;
        let encoded = session::encode(&Stored::Survey(out.session))?;
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

    /// A reply, or a hang-up for a stale save.
    pub(super) fn or_hangup(&self, reply: Option<String>) -> String {
        reply.unwrap_or_else(|| self.hangup())
    }

    /// Records the citizen's opt-out the moment the session reaches it.
    pub(super) async fn note_opt_out(
        &self,
        job: &Job,
        before: SessionStatus,
        after: SessionStatus,
    ) -> Result<(), CallError> {
        if after == SessionStatus::OptedOut && before != SessionStatus::OptedOut {
            self.store.record_opt_out(&job.spec.contact.phone).await?;
            info!(job.id = %job.id, "citizen opted out");
        }
        Ok(())
    }

    /// Saves step `expected_step` of the session (fenced) and returns the
    /// reply to give: the new markup, or the one already saved for a
    /// duplicate; `None` when the job moved on (stale). A saved step is
    /// kept in `live`, so the next webhook of the call needs no read.
    pub(super) async fn save(
        &self,
        job: &Job,
        expected_step: u32,
        session: String,
        new_answers: Vec<Answer>,
        actions: &[Action],
        with: Saved,
    ) -> Result<Option<String>, CallError> {
        let job_ref = job.job_ref();
        // Only the URLs the markup carries are formatted: a survey's step
        // gathers, an official's call bridges.
        let gathers = actions.iter().any(|a| matches!(a, Action::Gather { .. }));
        let dials = actions.iter().any(|a| matches!(a, Action::Dial(_)));
        let next = expected_step + 1;
        let gather = if gathers {
            self.urls.gather(&job_ref, job.attempt, next)
        } else {
            String::new()
        };
        let (bridge, whisper) = if dials {
            (
                self.urls.bridge(&job_ref, job.attempt, next),
                self.urls.whisper(&job_ref, job.attempt),
            )
        } else {
            (String::new(), String::new())
        };
        let urls = ActionUrls {
            gather: &gather,
            bridge: &bridge,
            whisper: &whisper,
        };
        let body = self.control.render(actions, &urls);
        let update = IvrUpdate {
            attempt: job.attempt,
            expected_step,
            session,
            new_answers,
            response: body,
            attribution: with.attribution,
            bridge: with.bridge,
        };
        Ok(match self.store.save_ivr(&job_ref, &update).await? {
            SaveIvr::Saved { .. } => {
                let IvrUpdate {
                    session,
                    new_answers,
                    response,
                    attribution,
                    bridge,
                    ..
                } = update;
                let mut next = job.clone();
                next.attribution = attribution.or(next.attribution);
                next.bridge = bridge.or(next.bridge);
                self.live
                    .saved(next, expected_step, session, &new_answers, response.clone());
                Some(response)
            }
            SaveIvr::Duplicate { response } => Some(response.unwrap_or_else(|| self.hangup())),
            SaveIvr::Stale => None,
        })
    }
}
