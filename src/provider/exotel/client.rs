//! The Exotel REST client (v1 Calls API): connect a number to sampark's
//! ExoML (originate), call details (fetch), bulk call details (find), over
//! HTTPS with Basic auth (API key and token).
//!
//! Owns: request building, the transport and its deadline, and telling a
//! request that was never sent from one whose reply was lost. Does not own:
//! reply classification (`wire`), retry policy (the dialer).
//!
//! Exotel's v1 API has no way to end a call placed with `Calls/connect`
//! (only its newer Legs API does), so `hangup` is refused (see its doc).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::config::{ExotelConfig, ExotelSetupError};
use super::token::UrlSigner;
use super::wire::{
    Effect, Reply, classify, format_local, parse_call, parse_call_page, parse_retry_after,
};
use crate::domain::PhoneNumber;
use crate::provider::reply::read_reply;
use crate::provider::{CallInfo, OriginateRequest, Provider, ProviderError};

/// Exotel's largest bulk call details page.
const LIST_PAGE_SIZE: u32 = 100;
const MAX_LIST_PAGES: usize = 20;
/// The status events asked for: `terminal` concludes the call; `answered`
/// tells the core it was picked up even if the answer URL is never fetched.
pub const STATUS_EVENTS: [&str; 2] = ["terminal", "answered"];

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A [`Provider`] backed by Exotel's v1 Calls API.
pub struct ExotelClient {
    http: HttpsClient,
    config: ExotelConfig,
    signer: Arc<UrlSigner>,
    /// `{base}/v1/Accounts/{sid}`.
    account_url: String,
    origin: String,
    authorization: HeaderValue,
}

enum SendError {
    NotSent(String),
    Lost(String),
}

impl SendError {
    fn into_provider(self, effect: Effect) -> ProviderError {
        match (self, effect) {
            (SendError::NotSent(m), _) | (SendError::Lost(m), Effect::ReadOnly) => {
                ProviderError::Transient(m)
            }
            (SendError::Lost(m), Effect::Writes) => ProviderError::Unknown(m),
        }
    }
}

impl ExotelClient {
    /// `signer` signs the answer and status URLs handed to Exotel (the
    /// webhook half checks them with the same signer).
    pub fn new(config: ExotelConfig, signer: Arc<UrlSigner>) -> Result<Self, ExotelSetupError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(ExotelSetupError::Invalid(problems));
        }
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let credentials = STANDARD.encode(format!("{}:{}", config.api_key, config.api_token));
        let mut authorization = HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|e| ExotelSetupError::Invalid(vec![format!("auth header: {e}")]))?;
        authorization.set_sensitive(true);
        let base = config.base_url.trim_end_matches('/');
        let account_url = format!("{base}/v1/Accounts/{}", config.account_sid);
        let origin = match base.split_once("://") {
            Some((scheme, rest)) => {
                format!(
                    "{scheme}://{}",
                    &rest[..rest.find('/').unwrap_or(rest.len())]
                )
            }
            None => base.to_owned(),
        };
        Ok(Self {
            http,
            config,
            signer,
            account_url,
            origin,
            authorization,
        })
    }

    async fn send(
        &self,
        method: Method,
        url: &str,
        form: Option<String>,
    ) -> Result<Reply, SendError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(url)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("sampark/", env!("CARGO_PKG_VERSION")),
            );
        if form.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = builder
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| SendError::NotSent(format!("cannot build request: {e}")))?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|e| {
                if e.is_connect() {
                    SendError::NotSent(error_chain(&e))
                } else {
                    SendError::Lost(error_chain(&e))
                }
            })?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let body = read_reply(status, response.into_body())
                .await
                .map_err(SendError::Lost)?;
            Ok(Reply {
                status,
                retry_after,
                body,
            })
        };
        let timeout = self.config.request_timeout;
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(SendError::Lost(format!("no reply within {timeout:?}"))))
    }

    /// Exotel gives the next page as a path; an absolute link is followed
    /// only to the configured origin, so the credentials go nowhere else.
    fn next_page_url(&self, next: &str) -> Result<String, ProviderError> {
        if next.starts_with('/') {
            Ok(format!("{}{next}", self.origin))
        } else if next.starts_with(&format!("{}/", self.origin)) {
            Ok(next.to_owned())
        } else {
            Err(ProviderError::Transient(
                "call list pointed to a next page on another host".to_owned(),
            ))
        }
    }
}

#[async_trait]
impl Provider for ExotelClient {
    async fn originate(&self, req: &OriginateRequest) -> Result<CallInfo, ProviderError> {
        let form = connect_form(req, &self.signer);
        let url = format!("{}/Calls/connect.json", self.account_url);
        let reply = self
            .send(Method::POST, &url, Some(form))
            .await
            .map_err(|e| e.into_provider(Effect::Writes))?;
        if !(200..300).contains(&reply.status) {
            let error = classify(&reply, Effect::Writes);
            tracing::debug!(to = %req.to, http.status = reply.status, error = %error, "exotel refused connect");
            return Err(error);
        }
        let info = parse_call(&reply.body)
            .map_err(|e| ProviderError::Unknown(format!("call created, reply unreadable: {e}")))?;
        tracing::debug!(to = %req.to, call.sid = %info.sid, call.status = %info.status, "exotel call created");
        Ok(info)
    }

    async fn fetch_call(&self, sid: &str) -> Result<Option<CallInfo>, ProviderError> {
        let url = format!(
            "{}/Calls/{}.json",
            self.account_url,
            encode_path_segment(sid)
        );
        let reply = self
            .send(Method::GET, &url, None)
            .await
            .map_err(|e| e.into_provider(Effect::ReadOnly))?;
        match reply.status {
            404 => Ok(None),
            s if (200..300).contains(&s) => parse_call(&reply.body)
                .map(Some)
                .map_err(ProviderError::Transient),
            _ => Err(classify(&reply, Effect::ReadOnly)),
        }
    }

    /// Bulk call details filtered by `From` (the number Exotel called first:
    /// the citizen, for a connect-to-flow call) and `DateCreated` from a
    /// minute before `since_ms` to an hour from now, in Exotel's local time;
    /// then cut to calls created at or after `since_ms` (a call without a
    /// readable date is kept: missing one would ring the citizen twice).
    /// Exotel does not filter by our caller id here, so calls another
    /// programme placed to the same citizen on the same account are
    /// returned too; the reconciler matches by time.
    async fn find_calls(
        &self,
        to: &PhoneNumber,
        _from: &PhoneNumber,
        since_ms: i64,
    ) -> Result<Vec<CallInfo>, ProviderError> {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(since_ms, |d| {
                i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
            });
        let range = format!(
            "gte:{};lte:{}",
            format_local(since_ms - 60_000),
            format_local(now_ms.max(since_ms) + 3_600_000)
        );
        let page_size = LIST_PAGE_SIZE.to_string();
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("From", to.as_str())
            .append_pair("DateCreated", &range)
            .append_pair("PageSize", &page_size)
            .finish();
        let mut url = format!("{}/Calls.json?{query}", self.account_url);
        let mut calls = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let reply = self
                .send(Method::GET, &url, None)
                .await
                .map_err(|e| e.into_provider(Effect::ReadOnly))?;
            if !(200..300).contains(&reply.status) {
                return Err(classify(&reply, Effect::ReadOnly));
            }
            let (page, next) = parse_call_page(&reply.body).map_err(ProviderError::Transient)?;
            calls.extend(page);
            match next {
                None => {
                    let since_second_ms = since_ms - since_ms.rem_euclid(1_000);
                    calls.retain(|c| c.created_ms.is_none_or(|t| t >= since_second_ms));
                    return Ok(calls);
                }
                Some(next) => url = self.next_page_url(&next)?,
            }
        }
        Err(ProviderError::Transient(format!(
            "call list longer than {MAX_LIST_PAGES} pages; refusing to answer from part of it"
        )))
    }

    /// Exotel's v1 API cannot end a call in progress. Refused without a
    /// request (`Rejected`, HTTP 501 as a marker): the dialer logs it and the
    /// call ends on its own — at its next webhook, which the core answers
    /// with a hang-up for a cancelled or orphaned job, or when the citizen
    /// hangs up.
    async fn hangup(&self, sid: &str) -> Result<(), ProviderError> {
        tracing::debug!(call.sid = %sid, "exotel cannot hang up a call through its v1 API");
        Err(ProviderError::Rejected {
            http: 501,
            code: None,
            message: "Exotel's v1 Calls API has no hang-up; the call ends at its next webhook"
                .into(),
        })
    }
}

impl fmt::Debug for ExotelClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExotelClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The `Calls/connect` form: connect `From` (the citizen) to the ExoML at
/// `Url`, showing `CallerId` (the ExoPhone); numbers in E.164, which
/// Exotel prefers. Callback URLs carry their tokens.
pub(super) fn connect_form(req: &OriginateRequest, signer: &UrlSigner) -> String {
    let ring_secs = req.ring_timeout.as_secs().max(1).to_string();
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("From", req.to.as_str())
        .append_pair("CallerId", req.from.as_str())
        .append_pair("Url", &signer.sign(&req.answer_url))
        .append_pair("CallType", "trans")
        .append_pair("TimeOut", &ring_secs)
        .append_pair("StatusCallback", &signer.sign(&req.status_url))
        .append_pair("StatusCallbackContentType", "application/json");
    for (i, event) in STATUS_EVENTS.iter().enumerate() {
        form.append_pair(&format!("StatusCallbackEvents[{i}]"), event);
    }
    form.finish()
}

fn encode_path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
