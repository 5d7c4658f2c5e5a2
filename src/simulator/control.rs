//! The simulator's own control routes, beside Twilio's API and behind the
//! same Basic auth: `POST /sim/inbound` makes a citizen call the programme.
//!
//! Owns: the control routes' JSON bodies and replies (`{"message",
//! "status"}` on errors, not Twilio's error shape: Twilio has no such
//! route). Does not own: placing the call (`inbound`) or auth (`api`).

use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::api::{Reply, ok};
use super::persona::Persona;
use super::server::Shared;
use super::{SimulatorError, inbound};

/// Where a test or a demo asks for an inbound call.
pub(crate) const INBOUND_PATH: &str = "/sim/inbound";

/// `POST /sim/inbound`'s body; every field is optional, so is the body.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct InboundRequest {
    /// The caller (E.164); drawn as for automatic calls when absent.
    from: Option<String>,
    persona: Option<Persona>,
}

/// `POST /sim/inbound`: 201 `{"sid", "from", "to"}`; 400 for a bad body,
/// number or persona; 409 when no inbound voice URL is configured.
pub(crate) fn inbound(shared: &Arc<Shared>, method: &http::Method, body: &[u8]) -> Reply {
    if method != http::Method::POST {
        return message(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    let request = if body.trim_ascii().is_empty() {
        InboundRequest::default()
    } else {
        match serde_json::from_slice::<InboundRequest>(body) {
            Ok(request) => request,
            Err(error) => {
                let text = format!(
                    "the body must be JSON like {{\"from\": \"+919876543210\", \"persona\": {{\"presses\": [\"1\"], \"then\": \"hangup\"}}}}: {error}"
                );
                return message(StatusCode::BAD_REQUEST, &text);
            }
        }
    };
    match inbound::place(shared, request.from.as_deref(), request.persona) {
        Ok(record) => ok(
            StatusCode::CREATED,
            &json!({
                "sid": record.sid,
                "from": record.from.as_str(),
                "to": record.to.as_str(),
            }),
        ),
        Err(error) => message(status_of(&error), &error.to_string()),
    }
}

fn status_of(error: &SimulatorError) -> StatusCode {
    match error {
        SimulatorError::NoInboundVoiceUrl => StatusCode::CONFLICT,
        SimulatorError::InvalidCaller(_) | SimulatorError::InvalidPersona(_) => {
            StatusCode::BAD_REQUEST
        }
        SimulatorError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn message(status: StatusCode, text: &str) -> Reply {
    ok(
        status,
        &json!({ "message": text, "status": status.as_u16() }),
    )
}
