//! The Twilio REST client: originate, fetch, list and hang up calls over
//! HTTPS (or plain HTTP for the simulator and tests), with Basic auth.
//!
//! Owns: request building, the transport and its deadline, and telling a
//! request that was never sent apart from one whose reply was lost. Does not
//! own: reply classification (see `wire`), retry policy (the dialer).

use std::fmt;
use std::time::Duration;

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

use super::config::{TwilioConfig, TwilioSetupError};
use super::date::utc_day;
use super::wire::{Effect, Reply, classify, parse_call, parse_call_page, parse_retry_after};
use crate::domain::{CallStatus, PhoneNumber};
use crate::provider::reply::read_reply;
use crate::provider::{CallInfo, OriginateRequest, Provider, ProviderError};

/// Calls per list page (Twilio allows up to 1000).
const LIST_PAGE_SIZE: u32 = 200;
/// A reconciling lookup for one number pair on one day never legitimately
/// needs more; past it the lookup fails rather than answer from a partial list.
const MAX_LIST_PAGES: usize = 20;

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A [`Provider`] backed by Twilio's 2010-04-01 REST API.
pub struct TwilioClient {
    http: HttpsClient,
    config: TwilioConfig,
    /// `{base}/2010-04-01/Accounts/{sid}`.
    account_url: String,
    /// `scheme://authority` of the base URL, for list pagination links.
    origin: String,
    authorization: HeaderValue,
}

/// How a request failed before an HTTP reply was read in full.
enum SendError {
    /// Certainly not sent (no connection could be made).
    NotSent(String),
    /// Possibly sent; the reply was lost (timeout, reset, truncated body).
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

impl TwilioClient {
    /// Validates `config` and builds the HTTP client (TLS with the Mozilla
    /// roots via `webpki-roots`, so no system certificate store is needed).
    pub fn new(config: TwilioConfig) -> Result<TwilioClient, TwilioSetupError> {
        let problems = config.problems();
        if !problems.is_empty() {
            return Err(TwilioSetupError::Invalid(problems));
        }
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
            .https_or_http()
            .enable_http1()
            .build();
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let credentials = STANDARD.encode(format!("{}:{}", config.account_sid, config.auth_token));
        let mut authorization = HeaderValue::from_str(&format!("Basic {credentials}"))
            .map_err(|e| TwilioSetupError::Invalid(vec![format!("auth header: {e}")]))?;
        authorization.set_sensitive(true);
        let base = config.base_url.trim_end_matches('/');
        let account_url = format!("{base}/2010-04-01/Accounts/{}", config.account_sid);
        let origin = origin_of(base);
        Ok(TwilioClient {
            http,
            config,
            account_url,
            origin,
            authorization,
        })
    }

    /// Sends one request and reads the whole reply within the configured
    /// deadline.
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
                // A connect error (refused, DNS, TLS handshake) means no byte
                // of the request left; anything later may have reached Twilio.
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

    /// One `GET` of a call list, following `next_page_uri`.
    async fn list_calls(&self, query: &[(&str, &str)]) -> Result<Vec<CallInfo>, ProviderError> {
        let mut url = format!("{}/Calls.json?{}", self.account_url, encode_form(query));
        let mut calls = Vec::new();
        for _ in 0..MAX_LIST_PAGES {
            let reply = self
                .send(Method::GET, &url, None)
                .await
                .map_err(|e| e.into_provider(Effect::ReadOnly))?;
            if !is_success(reply.status) {
                return Err(classify(&reply, Effect::ReadOnly));
            }
            let (page, next) = parse_call_page(&reply.body).map_err(ProviderError::Transient)?;
            calls.extend(page);
            match next {
                None => return Ok(calls),
                Some(next) => url = self.next_page_url(&next)?,
            }
        }
        Err(ProviderError::Transient(format!(
            "call list longer than {MAX_LIST_PAGES} pages; refusing to answer from part of it"
        )))
    }

    /// Twilio gives the next page as a path; an absolute link is followed
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

    fn call_url(&self, sid: &str) -> String {
        format!(
            "{}/Calls/{}.json",
            self.account_url,
            encode_path_segment(sid)
        )
    }
}

#[async_trait]
impl Provider for TwilioClient {
    async fn originate(&self, req: &OriginateRequest) -> Result<CallInfo, ProviderError> {
        let form = originate_form(req, &self.config.status_events);
        let url = format!("{}/Calls.json", self.account_url);
        let reply = self
            .send(Method::POST, &url, Some(form))
            .await
            .map_err(|e| e.into_provider(Effect::Writes))?;
        if !is_success(reply.status) {
            let error = classify(&reply, Effect::Writes);
            tracing::debug!(to = %req.to, http.status = reply.status, error = %error, "twilio refused originate");
            return Err(error);
        }
        // Twilio created the call but we cannot say which: reconcile.
        let info = parse_call(&reply.body)
            .map_err(|e| ProviderError::Unknown(format!("call created, reply unreadable: {e}")))?;
        tracing::debug!(to = %req.to, call.sid = %info.sid, call.status = %info.status, "twilio call created");
        Ok(info)
    }

    async fn fetch_call(&self, sid: &str) -> Result<Option<CallInfo>, ProviderError> {
        let reply = self
            .send(Method::GET, &self.call_url(sid), None)
            .await
            .map_err(|e| e.into_provider(Effect::ReadOnly))?;
        match reply.status {
            404 => Ok(None),
            s if is_success(s) => parse_call(&reply.body)
                .map(Some)
                .map_err(ProviderError::Transient),
            _ => Err(classify(&reply, Effect::ReadOnly)),
        }
    }

    /// Twilio filters lists by UTC day of `StartTime`, and a call still
    /// queued at Twilio has no start time yet, so two lists are read — calls
    /// started since the day of `since_ms`, and calls still queued — then
    /// merged and cut to those created at or after `since_ms`. Twilio's
    /// `date_created` has whole seconds, so `since_ms` is compared at that
    /// precision; a call without a readable creation date is kept, because
    /// missing a call here would dial the citizen twice.
    async fn find_calls(
        &self,
        to: &PhoneNumber,
        from: &PhoneNumber,
        since_ms: i64,
    ) -> Result<Vec<CallInfo>, ProviderError> {
        // Midnight UTC of that day as a full date-time: the day filter Twilio
        // documents (`YYYY-MM-DD`), in the `date-time` form its OpenAPI
        // description requires and its SDKs send.
        let day = format!("{}T00:00:00Z", utc_day(since_ms));
        let page_size = LIST_PAGE_SIZE.to_string();
        let (to, from) = (to.as_str(), from.as_str());
        let started = [
            ("To", to),
            ("From", from),
            ("StartTime>", day.as_str()),
            ("PageSize", &page_size),
        ];
        let queued = [
            ("To", to),
            ("From", from),
            ("Status", CallStatus::Queued.as_str()),
            ("PageSize", &page_size),
        ];
        let mut calls = self.list_calls(&started).await?;
        for call in self.list_calls(&queued).await? {
            if !calls.iter().any(|c| c.sid == call.sid) {
                calls.push(call);
            }
        }
        let since_second_ms = since_ms - since_ms.rem_euclid(1_000);
        calls.retain(|c| {
            c.created_ms
                .is_none_or(|created| created >= since_second_ms)
        });
        Ok(calls)
    }

    async fn hangup(&self, sid: &str) -> Result<(), ProviderError> {
        let form = encode_form(&[("Status", "completed")]);
        let reply = self
            .send(Method::POST, &self.call_url(sid), Some(form))
            .await
            .map_err(|e| e.into_provider(Effect::Writes))?;
        if is_success(reply.status) {
            tracing::debug!(call.sid = %sid, "twilio call hung up");
            Ok(())
        } else {
            Err(classify(&reply, Effect::Writes))
        }
    }
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The `CreateCall` form. `StatusCallbackEvent` is sent once per event, as
/// Twilio's API and SDKs do (not the `StatusCallbackEvent[]` array form).
pub(super) fn originate_form(req: &OriginateRequest, status_events: &[String]) -> String {
    let ring_secs = req.ring_timeout.as_secs().max(1).to_string();
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("To", req.to.as_str())
        .append_pair("From", req.from.as_str())
        .append_pair("Url", &req.answer_url)
        .append_pair("Method", "POST")
        .append_pair("StatusCallback", &req.status_url)
        .append_pair("StatusCallbackMethod", "POST");
    for event in status_events {
        form.append_pair("StatusCallbackEvent", event);
    }
    form.append_pair("Timeout", &ring_secs);
    if req.machine_detection {
        // Synchronous detection: the answer webhook waits for the verdict
        // and carries it as `AnsweredBy` (`machine_start` for a machine).
        form.append_pair("MachineDetection", "Enable");
    }
    form.finish()
}

fn encode_form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a call
/// sid taken from a webhook can never change the request path.
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

/// `scheme://authority` of an absolute URL (validated by the config).
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            format!("{scheme}://{}", &rest[..end])
        }
        None => url.to_owned(),
    }
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// An error and its causes on one line ("client error (Connect): tcp
/// connect error: Connection refused").
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
