//! `CallControl` for Exotel: per-URL tokens (and optional Basic auth)
//! instead of a signature, Exotel's parameter names, and ExoML.

use std::sync::Arc;

use super::exoml::{CONTENT_TYPE, hold, render};
use super::params::{bridge_result, digits, inbound_call, parse_body, status_event};
use super::token::UrlSigner;
use crate::dialplan::Action;
use crate::provider::{
    ActionUrls, BridgeResult, CallControl, InboundCall, Params, ParamsError, StatusEvent,
    Unverified, WebhookRequest,
};

/// Exotel's webhook half.
#[derive(Clone, Debug)]
pub struct ExotelControl {
    signer: Arc<UrlSigner>,
    choice_hints: bool,
}

impl ExotelControl {
    /// `signer` is the one the REST half signs answer and status URLs with.
    /// `choice_hints` as for Twilio (the simulator reads them; off in
    /// production).
    pub fn new(signer: Arc<UrlSigner>, choice_hints: bool) -> Self {
        Self {
            signer,
            choice_hints,
        }
    }
}

impl CallControl for ExotelControl {
    fn path_prefix(&self) -> &'static str {
        "/exotel"
    }

    /// A valid token for the path and query (and the configured Basic auth
    /// credentials), then a body that reads as a form or a JSON object.
    fn verify(&self, request: &WebhookRequest<'_>) -> Result<Params, Unverified> {
        let header =
            |name: http::HeaderName| request.headers.get(name).and_then(|v| v.to_str().ok());
        if !self
            .signer
            .check(request.path_and_query, header(http::header::AUTHORIZATION))
        {
            return Err(Unverified::Signature);
        }
        Ok(parse_body(
            header(http::header::CONTENT_TYPE),
            request.body,
        )?)
    }

    /// The token is in the URL (and Basic auth in a header): all of it is
    /// checked before the body.
    fn may_be_signed(&self, path_and_query: &str, headers: &http::HeaderMap) -> bool {
        let authorization = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.signer.check(path_and_query, authorization)
    }

    fn status_event(&self, params: &Params) -> Result<StatusEvent, ParamsError> {
        status_event(params)
    }

    fn inbound_call(&self, params: &Params) -> Result<InboundCall, ParamsError> {
        inbound_call(params)
    }

    fn digits(&self, params: &Params) -> String {
        digits(params)
    }

    fn bridge_result(&self, params: &Params) -> Result<BridgeResult, ParamsError> {
        bridge_result(params)
    }

    /// The gather and bridge URLs get their tokens; the whisper URL is never
    /// handed out (Exotel cannot play one, see `exoml`).
    fn render(&self, actions: &[Action], urls: &ActionUrls<'_>) -> String {
        let sign = |url: &str| {
            if url.is_empty() {
                String::new()
            } else {
                self.signer.sign(url)
            }
        };
        let (gather, bridge) = (sign(urls.gather), sign(urls.bridge));
        let signed = ActionUrls {
            gather: &gather,
            bridge: &bridge,
            whisper: "",
        };
        render(actions, &signed, self.choice_hints)
    }

    fn render_hold(&self, seconds: u32, redirect_url: &str) -> String {
        hold(seconds, &self.signer.sign(redirect_url))
    }

    fn content_type(&self) -> &'static str {
        CONTENT_TYPE
    }

    fn external_url(&self, url: &str) -> String {
        self.signer.sign(url)
    }
}
