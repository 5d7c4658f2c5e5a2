//! Twilio adapter: REST client (originate, fetch, list, hang up), webhook
//! signature, callback parameters and TwiML rendering.

pub mod signature;
