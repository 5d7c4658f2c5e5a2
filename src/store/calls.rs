//! The store's values of calls in progress: fenced transitions, provider
//! statuses, IVR progress, finishing, and inbound calls' visits and
//! admission.

use std::time::Duration;

use super::Job;
use crate::domain::{Answer, Attribution, BridgeReport, JobSpec, Outcome};

/// The result of a fenced transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Applied,
    /// The fence did not match (other attempt, other state, terminal): no-op.
    Stale,
}

/// The result of applying a provider status callback.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusApplied {
    /// Whether the job exists.
    pub known: bool,
    /// The job after the update, for a terminal status only: the caller
    /// concludes the attempt from it. Other statuses need nothing back, so
    /// the store does not read the job out for them.
    pub job: Option<Box<Job>>,
    /// Whether the status moved the call forward (false for duplicates/stale).
    pub advanced: bool,
}

/// A conclusion the caller decided from its own copy of the job
/// (`calls::LiveCalls`), to apply in the same step as the terminal status
/// that ends the call. It applies only while the job still is what the
/// decision read: the attempt live on the status's call, at IVR `step`,
/// with `dials` calls placed and (`has_answers`) answers or none.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub step: u32,
    pub dials: u32,
    pub has_answers: bool,
    pub finish: Finish,
}

/// What `apply_status_concluding` did.
#[derive(Clone, Debug, PartialEq)]
pub enum StatusConcluded {
    /// The status and the planned conclusion were applied together.
    Concluded { advanced: bool },
    /// The job is not what the plan read (or is unknown, or not live): the
    /// status was applied alone, exactly as `apply_status` does; the caller
    /// decides from the job returned.
    Applied(StatusApplied),
}

/// An IVR step to save, fenced by attempt and step.
#[derive(Clone, Debug, PartialEq)]
pub struct IvrUpdate {
    pub attempt: u32,
    /// The `ivr_step` the caller read; the save applies only if it still holds.
    pub expected_step: u32,
    /// The new session (opaque JSON).
    pub session: String,
    /// Answers captured by this step; the store stamps `at_ms` with its clock.
    pub new_answers: Vec<Answer>,
    /// The response body for this step, kept for duplicate requests.
    pub response: String,
    /// For inbound calls: whom the record will be about, once decided.
    pub attribution: Option<Attribution>,
    /// For an official's call: how the citizen's leg went, once reported
    /// (written with the step that follows it; the record carries it).
    pub bridge: Option<BridgeReport>,
}

/// The result of saving an IVR step.
#[derive(Clone, Debug, PartialEq)]
pub enum SaveIvr {
    /// Saved; `ivr_step` is now `step`.
    Saved { step: u32 },
    /// The step was already saved (duplicate webhook): here is what we answered.
    Duplicate { response: Option<String> },
    /// The job moved on (other attempt, terminal): the call should end.
    Stale,
}

/// How an attempt ends, as decided by the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Finish {
    /// Try again after `delay`: the job goes to `RetryWait` and the delayed set.
    Retry { delay: Duration, reason: String },
    /// The contact is done: the feedback record is written to the outbox.
    Terminal {
        outcome: Outcome,
        reason: Option<String>,
    },
}

/// A citizen's service visit, remembered at intake so that an inbound call
/// from the same number can be attributed to it. Stored under a keyed tag of
/// the phone number, never the number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceVisit {
    pub campaign_id: String,
    pub contact_id: String,
    pub official_id: String,
    pub department: String,
    pub office: String,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// When it was remembered (the store's clock); not part of the stored
    /// value, so remembering a visit again only refreshes its time.
    #[serde(skip)]
    pub at_ms: i64,
}

impl ServiceVisit {
    /// The visit a contact of a campaign stands for.
    pub fn of(spec: &JobSpec) -> Self {
        let c = &spec.contact;
        Self {
            campaign_id: spec.campaign_id.to_string(),
            contact_id: c.id.to_string(),
            official_id: c.official_id.to_string(),
            department: spec.department.clone(),
            office: c.office.clone(),
            service: c.service.clone(),
            language: c.language.clone(),
            at_ms: 0,
        }
    }
}

/// Whether an inbound call may be taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Counted among the live inbound calls (or already was).
    Admitted,
    /// `max_live` inbound calls are already live.
    Busy,
}

/// The job of an inbound call, as `start_inbound` left it.
#[derive(Clone, Debug, PartialEq)]
pub enum InboundStart {
    /// Created now, in a call, attempt 1.
    Created(Box<Job>),
    /// Already there (a duplicate webhook): unchanged.
    Existing(Box<Job>),
}
