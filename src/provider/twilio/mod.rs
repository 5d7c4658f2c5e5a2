//! Twilio adapter: REST client (originate, fetch, list, hang up), webhook
//! signature, callback parameters and TwiML rendering.
//!
//! Owns: everything Twilio-specific on the wire: `TwilioClient` (the REST
//! half, `Provider`) and `TwilioControl` (the webhook half, `CallControl`).
//! Does not own: call policy (the dialer), IVR decisions (the dialplan and
//! the call core), HTTP serving (the webhook server).

mod client;
mod config;
mod control;
mod date;
mod params;
pub mod signature;
pub mod twiml;
mod verify;
mod wire;

#[cfg(test)]
mod client_tests;

pub use client::TwilioClient;
pub use config::{DEFAULT_STATUS_EVENTS, TwilioConfig, TwilioSetupError};
pub use control::TwilioControl;
pub use params::{ParamError, StatusCallback, answered_by, call_sid, digits, parse_form};
pub use twiml::{CONTENT_TYPE as TWIML_CONTENT_TYPE, hangup_response, hold_response, render_with};
pub use verify::verify_request;
pub(crate) use wire::redact_numbers;
