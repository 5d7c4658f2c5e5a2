//! The IVR session as stored with the job. The store keeps it as opaque
//! JSON; it is written and read only here, so its format has one owner.
//!
//! An outbound call stores the survey's `Session`; an inbound call stores an
//! `InboundState`: the attribution-then-survey session and the visits it
//! offered (with the campaign, contact and official each stands for, which
//! the record is attributed to once the caller picks one).

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::CallError;
use crate::dialplan::{InboundSession, Session, SessionStatus};
use crate::store::{JobRef, ServiceVisit};

/// An inbound call's stored progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundState {
    pub call: InboundSession,
    /// The visits offered, in the order `call.visits()` has them.
    pub visits: Vec<ServiceVisit>,
}

/// What a job's `ivr` field holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stored {
    Inbound(InboundState),
    Survey(Session),
}

impl Stored {
    pub fn status(&self) -> SessionStatus {
        match self {
            Stored::Inbound(state) => state.call.status(),
            Stored::Survey(session) => session.status(),
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
    match decode(raw) {
        Ok(stored) => stored.status(),
        Err(e) => {
            warn!(job.id = %job.id, error = %e, "stored IVR session is unreadable");
            SessionStatus::Abandoned
        }
    }
}
