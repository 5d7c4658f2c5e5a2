//! Twilio adapter: REST client (originate, fetch, list, hang up), webhook
//! signature, callback parameters and TwiML rendering.
//!
//! Owns: everything Twilio-specific on the wire. Does not own: call policy
//! (the dialer), IVR decisions (the dialplan), HTTP serving (the webhook
//! server, which calls `verify_request`, the `params` readers and `render`).

mod client;
mod config;
mod date;
mod params;
pub mod signature;
pub mod twiml;
mod verify;
mod wire;

#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod test_server;

pub use client::TwilioClient;
pub use config::{DEFAULT_STATUS_EVENTS, TwilioConfig, TwilioSetupError};
pub use params::{ParamError, StatusCallback, call_sid, digits, parse_form};
pub use twiml::{CONTENT_TYPE as TWIML_CONTENT_TYPE, hangup_response, render};
pub use verify::verify_request;
