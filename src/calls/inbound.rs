//! Inbound calls: a citizen calls the programme's number.
//!
//! | step | what happens |
//! |---|---|
//! | answered (`/inbound`) | the job `inbound/<call id>` is found, or the call is admitted under `max_live` (else: the plan's `busy`, hang up) and its job created in a call; the caller's recent visits are read and the attribution gather (or the survey) is saved and returned |
//! | gather (`/gather`) | `step_inbound`; the record's subject follows the attribution (a visit, or unattributed with the `department` answered) |
//! | status (`/inbound/status`) | `on_status` as for any call; on the terminal status the call-back is queued if asked for, the record written, the live slot released |
//!
//! Inbound calls spend no dial quota and no citizen cap: the citizen called.
//! Their jobs have one attempt (nothing to retry) and live in the shard of
//! their call id, named in the per-call gather URLs like any job.

use std::time::Duration;

use tracing::{error, info, warn};

use super::service::Saved;
use super::session::{self, InboundState, Stored};
use super::{CallCore, CallError, RetryPolicy};
use crate::config::InboundSettings;
use crate::dialplan::{self, Dialplans, InboundPrompts, Visit};
use crate::domain::{
    Answer, Attribution, CampaignHeader, CampaignId, CampaignKind, Contact, ContactId, Direction,
    JobId, JobSpec, JobState, OfficialId, PhoneNumber,
};
use crate::provider::{ActionUrls, Params};
use crate::store::keys::shard_of_call;
use crate::store::{Admission, InboundStart, Job, JobRef, PutOutcome, ServiceVisit};
use crate::telemetry::InboundResult;

/// The campaign id every inbound call's job is filed under.
pub const INBOUND_CAMPAIGN: &str = "inbound";
/// The official id of jobs about no official in particular (inbound calls
/// before attribution, call-backs for unattributed callers): their quota is
/// the programme desk's.
pub const DESK: &str = "programme-desk";
/// The flag by which the inbound survey asks for a call-back.
pub const CALLBACK_FLAG: &str = "callback_requested";
/// The question whose answer names the department of an unattributed call.
const DEPARTMENT: &str = "department";

/// How the core takes inbound calls (from `[inbound]`).
#[derive(Clone, Debug)]
pub struct InboundPolicy {
    pub dialplan: String,
    pub lookback: Duration,
    pub max_live: u32,
    pub number: PhoneNumber,
    pub callback_campaign: CampaignId,
    pub callback_dialplan: String,
    /// How long an inbound call may last before the reconciler asks the
    /// provider about it; also how long its live slot is held if it is
    /// never released.
    pub lease: Duration,
}

impl InboundPolicy {
    /// The policy `[inbound]` describes (`None` when disabled), checked
    /// against the loaded dialplans.
    pub fn from_settings(
        settings: &InboundSettings,
        dialplans: &Dialplans,
        lease: Duration,
    ) -> Result<Option<Self>, String> {
        if !settings.enabled {
            return Ok(None);
        }
        match dialplans.get(&settings.dialplan) {
            None => {
                return Err(format!(
                    "inbound.dialplan: no dialplan named {:?} is loaded",
                    settings.dialplan
                ));
            }
            Some(plan) if plan.inbound().is_none() => {
                return Err(format!(
                    "inbound.dialplan: dialplan {:?} has no [inbound] section",
                    settings.dialplan
                ));
            }
            Some(_) => {}
        }
        if !dialplans.contains(&settings.callback_dialplan) {
            return Err(format!(
                "inbound.callback_dialplan: no dialplan named {:?} is loaded",
                settings.callback_dialplan
            ));
        }
        Ok(Some(Self {
            dialplan: settings.dialplan.clone(),
            lookback: settings.lookback(),
            max_live: settings.max_concurrent,
            number: PhoneNumber::parse(&settings.number)
                .map_err(|e| format!("inbound.number: {e}"))?,
            callback_campaign: CampaignId::parse(&settings.callback_campaign)
                .map_err(|e| format!("inbound.callback_campaign: {e}"))?,
            callback_dialplan: settings.callback_dialplan.clone(),
            lease,
        }))
    }

    /// Inbound calls are never redialled.
    pub(super) fn retry() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            backoff: Vec::new(),
        }
    }
}

/// The job reference of inbound call `call_sid`.
pub fn inbound_job(call_sid: &str, shards: u16) -> Result<JobRef, CallError> {
    let contact = ContactId::parse(call_sid)
        .map_err(|e| CallError::BadRequest(format!("unusable call id {call_sid:?}: {e}")))?;
    let campaign = CampaignId::parse(INBOUND_CAMPAIGN)
        .map_err(|e| CallError::BadRequest(format!("inbound campaign id: {e}")))?;
    Ok(JobRef::new(
        shard_of_call(call_sid, shards),
        JobId::new(campaign, contact),
    ))
}

impl CallCore {
    /// Answers a call to the programme's number.
    pub(super) async fn inbound_answer(&self, params: &Params) -> Result<String, CallError> {
        let Some(policy) = &self.inbound else {
            warn!("an inbound call arrived but inbound calls are disabled; hanging up");
            return Ok(self.hangup());
        };
        let call = self
            .control
            .inbound_call(params)
            .map_err(|e| CallError::BadRequest(e.to_string()))?;
        let job_ref = inbound_job(&call.call_sid, self.store.shards())?;
        let job = match self.store.load_job(&job_ref).await? {
            Some(job) => job,
            None => {
                let Ok(phone) = PhoneNumber::parse(&call.from) else {
                    self.metrics.inbound_call(InboundResult::NoCallerId);
                    info!(call.sid = %call.call_sid, "inbound call without a usable caller number; ending it");
                    return Ok(self.hangup());
                };
                let admitted = self
                    .store
                    .admit_inbound(&call.call_sid, policy.max_live, policy.lease)
                    .await?;
                if admitted == Admission::Busy {
                    self.metrics.inbound_call(InboundResult::Busy);
                    info!(call.sid = %call.call_sid, caller = %phone.masked(), "inbound lines full; caller told to call later");
                    return Ok(self.busy(policy));
                }
                let spec = inbound_spec(policy, &call.call_sid, phone)?;
                let about = unattributed(&spec, &[]);
                match self
                    .store
                    .start_inbound(&job_ref, &spec, &about, &call.call_sid, policy.lease)
                    .await?
                {
                    InboundStart::Created(job) => {
                        self.metrics.inbound_call(InboundResult::Taken);
                        info!(job.id = %job.id, caller = %job.spec.contact.phone.masked(), "inbound call taken");
                        *job
                    }
                    InboundStart::Existing(job) => *job,
                }
            }
        };
        if job.attempt != 1 || !matches!(job.state, JobState::Dialing | JobState::InCall) {
            return Ok(self.hangup());
        }
        if job.ivr.is_some() {
            // The provider asked again: replay what we answered.
            return Ok(job.last_response.unwrap_or_else(|| self.hangup()));
        }
        let Some(plan) = self.dialplans.get(&job.spec.dialplan) else {
            error!(job.id = %job.id, dialplan = %job.spec.dialplan, "dialplan is no longer loaded; hanging up");
            return Ok(self.hangup());
        };
        let visits = self
            .store
            .recent_visits(
                &job.spec.contact.phone,
                policy.lookback,
                InboundPrompts::MAX_OPTIONS,
            )
            .await?;
        let offered: Vec<Visit> = visits.iter().map(visit_of).collect();
        let out = dialplan::start_inbound(&plan, &offered);
        let state = InboundState {
            call: out.session,
            visits,
        };
        let about = subject(&job, &state, &out.new_answers);
        let encoded = session::encode(&Stored::Inbound(state))?;
        let reply = self
            .save(
                &job,
                0,
                encoded,
                out.new_answers,
                &out.actions,
                Saved {
                    attribution: about,
                    bridge: None,
                },
            )
            .await?;
        Ok(self.or_hangup(reply))
    }

    /// One gather of an inbound call (fenced by the caller).
    pub(super) async fn inbound_gather(
        &self,
        job: &Job,
        plan: &dialplan::Dialplan,
        state: InboundState,
        step_no: u32,
        digits: &str,
    ) -> Result<Option<String>, CallError> {
        let before = state.call.status();
        let out = dialplan::step_inbound(
            plan,
            &state.call,
            &dialplan::Event::Digits(digits.to_owned()),
        );
        self.note_opt_out(job, before, out.session.status()).await?;
        let state = InboundState {
            call: out.session,
            visits: state.visits,
        };
        let about = subject(job, &state, &out.new_answers);
        let encoded = session::encode(&Stored::Inbound(state))?;
        self.save(
            job,
            step_no,
            encoded,
            out.new_answers,
            &out.actions,
            Saved {
                attribution: about,
                bridge: None,
            },
        )
        .await
    }

    /// The plan's busy message, then hang up.
    fn busy(&self, policy: &InboundPolicy) -> String {
        match self.dialplans.get(&policy.dialplan) {
            Some(plan) => self
                .control
                .render(&dialplan::busy(&plan), &ActionUrls::NONE),
            None => self.hangup(),
        }
    }

    /// Before an inbound call's record is written: queue the call-back the
    /// caller asked for (idempotent: one job per call).
    pub(super) async fn queue_callback(&self, job: &Job) -> Result<(), CallError> {
        let Some(policy) = &self.inbound else {
            return Ok(());
        };
        let asked = job
            .answers
            .iter()
            .any(|a| a.flag.as_deref() == Some(CALLBACK_FLAG));
        if !asked {
            return Ok(());
        }
        let header = CampaignHeader {
            priority: Default::default(),
            retry: None,
            calling_window: None,
            machine_detection: false,
            kind: CampaignKind::Survey,
            sample_rate: None,
            sample_max_per_office_per_day: None,
            freshness: Default::default(),
            id: policy.callback_campaign.clone(),
            name: "Call-backs asked for on inbound calls".into(),
            dialplan: policy.callback_dialplan.clone(),
            caller_id: policy.number.clone(),
            department: "programme".into(),
        };
        if self.store.put_campaign(&header).await? == PutOutcome::Conflict {
            warn!(campaign = %header.id, "the call-back campaign exists with other settings; queueing under it as it is");
        }
        let spec = callback_spec(&header, job)?;
        match self.store.enqueue(&spec).await? {
            PutOutcome::Conflict => {
                warn!(job.id = %job.id, "a different call-back was queued for this call; keeping it");
            }
            PutOutcome::Created | PutOutcome::Unchanged => {
                info!(job.id = %job.id, callback = %spec.job_id(), "call-back queued");
            }
        }
        Ok(())
    }

    /// After an inbound call's record is written: free its live slot (if
    /// this fails the slot expires after the lease).
    pub(super) async fn release_inbound(&self, job: &JobRef, call_sid: &str) {
        if let Err(e) = self.store.release_inbound(call_sid).await {
            warn!(job.id = %job.id, error = %e, "could not release the inbound slot; it expires on its own");
        }
    }
}

fn inbound_spec(
    policy: &InboundPolicy,
    call_sid: &str,
    phone: PhoneNumber,
) -> Result<JobSpec, CallError> {
    let bad = |e: crate::domain::IdError| CallError::BadRequest(e.to_string());
    Ok(JobSpec {
        priority: Default::default(),
        retry: None,
        calling_window: None,
        machine_detection: false,
        official_call: None,
        not_after_ms: None,
        not_before_ms: None,
        campaign_id: CampaignId::parse(INBOUND_CAMPAIGN).map_err(bad)?,
        dialplan: policy.dialplan.clone(),
        caller_id: policy.number.clone(),
        department: String::new(),
        contact: Contact {
            visit_at_ms: None,
            first_name: None,
            id: ContactId::parse(call_sid).map_err(bad)?,
            phone,
            language: None,
            official_id: OfficialId::parse(DESK).map_err(bad)?,
            office: String::new(),
            service: String::new(),
        },
        direction: Direction::Inbound,
    })
}

/// The call-back job of an inbound call: the same citizen, about the visit
/// they named (or the programme desk), under the call-back campaign.
fn callback_spec(header: &CampaignHeader, job: &Job) -> Result<JobSpec, CallError> {
    let bad = |e: crate::domain::IdError| CallError::BadRequest(e.to_string());
    let about = job.attribution.clone();
    let about = about.as_ref().filter(|a| a.attributed);
    let official = about.map_or(DESK, |a| a.official_id.as_str());
    let contact = Contact {
        visit_at_ms: None,
        first_name: None,
        id: ContactId::parse(&format!("cb-{}", job.spec.contact.id)).map_err(bad)?,
        phone: job.spec.contact.phone.clone(),
        language: None,
        official_id: OfficialId::parse(official).map_err(bad)?,
        office: about.map(|a| a.office.clone()).unwrap_or_default(),
        service: about.map(|a| a.service.clone()).unwrap_or_default(),
    };
    let mut spec = JobSpec::new(header, contact);
    if let Some(department) = job
        .attribution
        .as_ref()
        .map(|a| a.department.clone())
        .filter(|d| !d.is_empty())
    {
        spec.department = department;
    }
    Ok(spec)
}

fn visit_of(v: &ServiceVisit) -> Visit {
    Visit {
        office: v.office.clone(),
        service: v.service.clone(),
        language: v.language.clone(),
    }
}

/// Whom the record is about now, or `None` while the caller has not said.
fn subject(job: &Job, state: &InboundState, new_answers: &[Answer]) -> Option<Attribution> {
    match state.call.attribution() {
        dialplan::Attribution::Pending => None,
        dialplan::Attribution::Visit(i) => state.visits.get(*i).map(|v| Attribution {
            campaign_id: v.campaign_id.clone(),
            contact_id: v.contact_id.clone(),
            official_id: v.official_id.clone(),
            department: v.department.clone(),
            office: v.office.clone(),
            service: v.service.clone(),
            attributed: true,
        }),
        dialplan::Attribution::Unattributed => {
            let answers: Vec<Answer> = job.answers.iter().chain(new_answers).cloned().collect();
            Some(unattributed(&job.spec, &answers))
        }
    }
}

/// An inbound call about no known visit: the department is the one the
/// caller chose, if they did.
fn unattributed(spec: &JobSpec, answers: &[Answer]) -> Attribution {
    let department = answers
        .iter()
        .rev()
        .find(|a| a.question == DEPARTMENT)
        .map(|a| a.value.clone())
        .unwrap_or_default();
    Attribution {
        campaign_id: spec.campaign_id.to_string(),
        contact_id: spec.contact.id.to_string(),
        official_id: String::new(),
        department,
        office: String::new(),
        service: String::new(),
        attributed: false,
    }
}
