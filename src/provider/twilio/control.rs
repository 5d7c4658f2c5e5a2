//! `CallControl` for Twilio: `X-Twilio-Signature` over the public URL, form
//! parameters, and TwiML.

use super::params::{StatusCallback, answered_by, bridge_result, digits, parse_form};
use super::twiml::{CONTENT_TYPE, hold_response, render_with};
use super::verify::verify_request;
use crate::dialplan::Action;
use crate::provider::{
    ActionUrls, AnsweredBy, BridgeResult, CallControl, InboundCall, Params, ParamsError,
    StatusEvent, Unverified, WebhookRequest,
};

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

impl CallControl for TwilioControl {
    fn path_prefix(&self) -> &'static str {
        "/twilio"
    }

    /// The form is read (within its bounds) before the signature is
    /// checked, as the signature covers its parameters.
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Params, Unverified> {
        let params = parse_form(request.body)?;
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
        .ok_or(Unverified::Signature)
    }

    /// The signature covers the body, so only its presence is checked.
    fn may_be_signed(&self, _path_and_query: &str, headers: &http::HeaderMap) -> bool {
        headers.contains_key("x-twilio-signature")
    }

    fn status_event(&self, params: &Params) -> Result<StatusEvent, ParamsError> {
        let cb = StatusCallback::from_params(params).map_err(|e| ParamsError(e.to_string()))?;
        Ok(StatusEvent {
            call_sid: cb.call_sid,
            status: cb.status,
        })
    }

    fn inbound_call(&self, params: &Params) -> Result<InboundCall, ParamsError> {
        let field = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let call_sid = field("CallSid")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ParamsError("the inbound call has no `CallSid`".into()))?;
        Ok(InboundCall {
            call_sid,
            from: field("From").unwrap_or_default(),
        })
    }

    fn digits(&self, params: &Params) -> String {
        digits(params)
    }

    fn answered_by(&self, params: &Params) -> Option<AnsweredBy> {
        answered_by(params)
    }

    fn bridge_result(&self, params: &Params) -> Result<BridgeResult, ParamsError> {
        bridge_result(params).map_err(ParamsError)
    }

    fn render(&self, actions: &[Action], urls: &ActionUrls<'_>) -> String {
        render_with(actions, urls, self.choice_hints)
    }

    fn render_hold(&self, seconds: u32, redirect_url: &str) -> String {
        hold_response(seconds, redirect_url)
    }

    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }
}
