//! `CallControl` for Twilio: `X-Twilio-Signature` over the public URL, form
//! parameters, and TwiML.

use super::params::{StatusCallback, call_sid, digits, parse_form};
use super::twiml::{CONTENT_TYPE, render_with};
use super::verify::verify_request;
use crate::dialplan::Action;
use crate::domain::PhoneNumber;
use crate::provider::{CallControl, InboundCall, Params, ParamsError, StatusEvent, WebhookRequest};

/// Twilio's webhook half.
#[derive(Clone, Debug)]
pub struct TwilioControl {
    auth_token: String,
    public_url: String,
    choice_hints: bool,
}

impl TwilioControl {
    /// `public_url` is the base URL Twilio reaches us at (what it signs);
    /// `choice_hints` adds the valid keys of each gather as an XML comment
    /// that the simulator reads (never turn it on in production: it tells
    /// nothing to Twilio and costs bytes on every reply).
    pub fn new(auth_token: &str, public_url: &str, choice_hints: bool) -> Self {
        Self {
            auth_token: auth_token.to_owned(),
            public_url: public_url.to_owned(),
            choice_hints,
        }
    }
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

impl CallControl for TwilioControl {
    fn path_prefix(&self) -> &'static str {
        "/twilio"
    }

    fn verify(&self, request: &WebhookRequest<'_>) -> Option<Params> {
        let params = parse_form(request.body);
        let signature = request
            .headers
            .get("x-twilio-signature")
            .and_then(|v| v.to_str().ok());
        verify_request(
            &self.auth_token,
            &self.public_url,
            request.path_and_query,
            &params,
            signature,
        )
        .then_some(params)
    }

    fn status_event(&self, params: &Params) -> Result<StatusEvent, ParamsError> {
        let cb = StatusCallback::from_params(params).map_err(|e| ParamsError(e.to_string()))?;
        Ok(StatusEvent {
            call_sid: cb.call_sid,
            status: cb.status,
        })
    }

    fn digits(&self, params: &Params) -> String {
        digits(params)
    }

    fn inbound_call(&self, params: &Params) -> Result<InboundCall, ParamsError> {
        let sid = call_sid(params).ok_or_else(|| ParamsError("no CallSid parameter".into()))?;
        let from = param(params, "From").ok_or_else(|| ParamsError("no From parameter".into()))?;
        let from = PhoneNumber::parse(from)
            .map_err(|e| ParamsError(format!("the caller's number is not usable: {e}")))?;
        Ok(InboundCall {
            call_sid: sid.to_owned(),
            from,
            to: param(params, "To").unwrap_or_default().to_owned(),
        })
    }

    fn call_sid<'p>(&self, params: &'p Params) -> Option<&'p str> {
        call_sid(params)
    }

    fn render(&self, actions: &[Action], gather_url: &str) -> String {
        render_with(actions, gather_url, self.choice_hints)
    }

    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }
}
