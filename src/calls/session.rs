//! The IVR session as stored with the job. The store keeps it as opaque
//! JSON; it is written and read only here, so its format has one owner.
//!
//! An outbound call stores the survey's `Session`; an inbound call stores an
//! `InboundState`: the attribution-then-survey session and the visits it
//! offered (with the campaign, contact and official each stands for, which
//! the record is attributed to once the caller picks one). An outbound call
//! a machine picked up (answering-machine detection) stores a
//! `MachinePickUp` instead of a session: no survey was played, and the
//! conclusion reads it to end the attempt `machine`. An official's call
//! stores an `OfficialSession` (the brief and bridge, then the survey the
//! official keys the disposition in).

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::CallError;
use crate::dialplan::{InboundSession, OfficialSession, Session, SessionStatus};
use crate::provider::AnsweredBy;
use crate::store::{JobRef, ServiceVisit};

/// An inbound call's stored progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundState {
    pub call: InboundSession,
    /// The visits offered, in the order `call.visits()` has them.
    pub visits: Vec<ServiceVisit>,
}

/// An answered call that a machine or fax picked up, per the provider: it
/// was hung up on without a survey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachinePickUp {
    pub answered_by: AnsweredBy,
}

/// What a job's `ivr` field holds. Untagged: the shapes have disjoint
/// required fields (`call`/`visits`, the survey's, `answered_by` alone,
/// `official`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    Inbound(InboundState),
    Survey(Session),
    Machine(MachinePickUp),
    Official(OfficialSession),
}

impl Stored {
    /// The survey's status; a machine pick-up never had one, and counts as
    /// abandoned (the call was answered; nothing was asked).
    pub fn status(&self) -> SessionStatus {
        match self {
            Stored::Inbound(state) => state.call.status(),
            Stored::Survey(session) => session.status(),
            Stored::Machine(_) => SessionStatus::Abandoned,
            Stored::Official(session) => session.status(),
        }
    }
}

/// The JSON stored for a session.
pub fn encode(stored: &Stored) -> Result<String, CallError> {
    serde_json::to_string(stored)
        .map_err(|e| CallError::BadRequest(format!("cannot encode the IVR session: {e}")))
}

/// The session stored as `raw`.
pub fn decode(raw: &str) -> Result<Stored, CallError> {
    serde_json::from_str(raw)
        .map_err(|e| CallError::BadRequest(format!("stored IVR session unreadable: {e}")))
}

/// The status of a stored session. An unreadable session (written by an
/// incompatible version) counts as abandoned: the call was answered, so a
/// redial would call the citizen twice.
pub fn status_of(job: &JobRef, raw: &str) -> SessionStatus {
    concluding(job, raw).1
}

/// A stored session as a call's conclusion reads it, decoded once: the
/// machine that picked the call up, when it records one, and its status
/// (as `status_of`).
pub fn concluding(job: &JobRef, raw: &str) -> (Option<AnsweredBy>, SessionStatus) {
    match decode(raw) {
        Ok(Stored::Machine(pick_up)) => (Some(pick_up.answered_by), SessionStatus::Abandoned),
        Ok(stored) => (None, stored.status()),
        Err(e) => {
            warn!(job.id = %job.id, error = %e, "stored IVR session is unreadable");
            (None, SessionStatus::Abandoned)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_pick_up_round_trips_and_is_told_apart_from_a_survey() {
        let stored = Stored::Machine(MachinePickUp {
            answered_by: AnsweredBy::Fax,
        });
        let raw = encode(&stored).unwrap();
        assert_eq!(raw, r#"{"answered_by":"fax"}"#);
        assert_eq!(decode(&raw).unwrap(), stored);
        let job = JobRef::new(0, crate::domain::JobId::parse("c/1").unwrap());
        let abandoned = SessionStatus::Abandoned;
        assert_eq!(concluding(&job, &raw), (Some(AnsweredBy::Fax), abandoned));
        assert_eq!(stored.status(), abandoned);
        assert_eq!(concluding(&job, "{not json"), (None, abandoned));
        assert!(decode(r#"{"answered_by":"robot"}"#).is_err());
        // A survey session never reads as a machine pick-up.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans");
        let plans = crate::dialplan::load_dir(&dir).unwrap();
        let plan = plans.get("mo-sarkar-feedback").unwrap();
        let ctx = crate::dialplan::CallContext {
            language: Some("en".into()),
            office: "o".into(),
            service: "s".into(),
        };
        let session = crate::dialplan::start(&plan, &ctx).session;
        let status = session.status();
        let survey = encode(&Stored::Survey(session)).unwrap();
        assert_eq!(concluding(&job, &survey), (None, status));
        assert!(matches!(decode(&survey).unwrap(), Stored::Survey(_)));
    }
}
