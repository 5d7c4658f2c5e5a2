//! The IVR session as stored with the job. The store keeps it as opaque
//! JSON; it is written and read only here, so its format has one owner.

use tracing::warn;

use super::CallError;
use crate::dialplan::{Session, SessionStatus};
use crate::store::JobRef;

/// The JSON stored for `session`.
pub fn encode(session: &Session) -> Result<String, CallError> {
    serde_json::to_string(session)
        .map_err(|e| CallError::BadRequest(format!("cannot encode the IVR session: {e}")))
}

/// The session stored as `raw`.
pub fn decode(raw: &str) -> Result<Session, CallError> {
    serde_json::from_str(raw)
        .map_err(|e| CallError::BadRequest(format!("stored IVR session unreadable: {e}")))
}

/// The status of a stored session. An unreadable session (written by an
/// incompatible version) counts as abandoned: the call was answered, so a
/// redial would call the citizen twice.
pub fn status_of(job: &JobRef, raw: &str) -> SessionStatus {
    match decode(raw) {
        Ok(session) => session.status(),
        Err(e) => {
            warn!(job.id = %job.id, error = %e, "stored IVR session is unreadable");
            SessionStatus::Abandoned
        }
    }
}
