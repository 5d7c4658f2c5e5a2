//! Outgoing webhooks: requests to the application's answer, action,
//! redirect and status-callback URLs, over http or https. Twilio signs each
//! with `X-Twilio-Signature`; Exotel signs nothing and sends the Basic auth
//! credentials a URL carries in its user info as `Authorization`.
//!
//! Owns: the HTTP client, authentication per wire, form and JSON bodies,
//! timeouts, status-callback retries, URL checks and relative-URL
//! resolution. Does not own: what to send when (see `call`).

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use super::SimulatorError;
use super::twiml::Method;
use super::wire::Wire;
use crate::provider::twilio::signature;

/// Largest webhook reply body read (TwiML documents are small).
const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// A webhook reply.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
}

/// Why a webhook got no usable reply.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebhookError {
    #[error("not an absolute http(s) URL: {0}")]
    BadUrl(String),
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("request failed: {0}")]
    Request(String),
    #[error("reading the reply failed: {0}")]
    Body(String),
    #[error("shutting down")]
    Cancelled,
}

/// How a POST body is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/x-www-form-urlencoded` (every webhook but the below).
    #[default]
    Form,
    /// A JSON object: Exotel's status callback with
    /// `StatusCallbackContentType=application/json`.
    Json,
}

pub(crate) struct WebhookClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    wire: Wire,
    auth_token: String,
    timeout: Duration,
}

impl WebhookClient {
    pub(crate) fn new(
        wire: Wire,
        auth_token: &str,
        timeout: Duration,
    ) -> Result<Self, SimulatorError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| SimulatorError::Client(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            wire,
            auth_token: auth_token.to_owned(),
            timeout,
        })
    }

    /// Sends one form request; the timeout covers the whole exchange.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        params: &[(String, String)],
    ) -> Result<Reply, WebhookError> {
        self.send_as(method, url, params, Encoding::Form).await
    }

    async fn send_as(
        &self,
        method: Method,
        url: &str,
        params: &[(String, String)],
        encoding: Encoding,
    ) -> Result<Reply, WebhookError> {
        let request = self.build(method, url, params, encoding)?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| WebhookError::Request(e.to_string()))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map_err(|e| WebhookError::Body(e.to_string()))?
                .to_bytes();
            Ok(Reply {
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| WebhookError::Timeout(self.timeout))?
    }

    /// Sends a status callback, retrying 5xx replies and failed exchanges
    /// `retries` more times with a doubling backoff (Twilio retries callbacks
    /// the same way, and the daemon answers 5xx while its Redis is down).
    pub(crate) async fn send_with_retries(
        &self,
        method: Method,
        url: &str,
        params: &[(String, String)],
        encoding: Encoding,
        retries: u32,
        cancel: &CancellationToken,
    ) -> Result<Reply, WebhookError> {
        let mut backoff = Duration::from_millis(50);
        let mut attempt = 0;
        loop {
            let outcome = tokio::select! {
                () = cancel.cancelled() => return Err(WebhookError::Cancelled),
                outcome = self.send_as(method, url, params, encoding) => outcome,
            };
            let retryable = match &outcome {
                Ok(reply) => reply.status.is_server_error(),
                Err(WebhookError::BadUrl(_)) => false,
                Err(_) => true,
            };
            if !retryable || attempt >= retries {
                return outcome;
            }
            attempt += 1;
            let backoff_ms = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
            tracing::debug!(attempt, backoff_ms, "simulator retrying a status callback");
            tokio::select! {
                () = cancel.cancelled() => return Err(WebhookError::Cancelled),
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    fn build(
        &self,
        method: Method,
        url: &str,
        params: &[(String, String)],
        encoding: Encoding,
    ) -> Result<Request<Full<Bytes>>, WebhookError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(WebhookError::BadUrl(url.to_owned()));
        }
        if self.wire == Wire::Exotel {
            return super::exotel_hooks::build(method, url, params, encoding);
        }
        let encoded = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        // GET carries the parameters in the query and signs the full URL
        // alone; POST signs the URL plus the sorted body parameters.
        let (target, signature, body) = match method {
            Method::Get => {
                let joiner = if url.contains('?') { '&' } else { '?' };
                let target = if encoded.is_empty() {
                    url.to_owned()
                } else {
                    format!("{url}{joiner}{encoded}")
                };
                let sig = signature::sign(&self.auth_token, &target, &[]);
                (target, sig, Bytes::new())
            }
            Method::Post => {
                let sig = signature::sign(&self.auth_token, url, params);
                (url.to_owned(), sig, Bytes::from(encoded))
            }
        };
        let uri: Uri = target
            .parse()
            .map_err(|_| WebhookError::BadUrl(url.to_owned()))?;
        let mut builder = Request::builder()
            .method(match method {
                Method::Get => http::Method::GET,
                Method::Post => http::Method::POST,
            })
            .uri(uri)
            .header(USER_AGENT, "TwilioProxy/1.1 (sampark-simulator)")
            .header("X-Twilio-Signature", signature);
        if method == Method::Post {
            builder = builder.header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            );
        }
        builder
            .body(Full::new(body))
            .map_err(|e| WebhookError::BadUrl(format!("{url}: {e}")))
    }
}

/// Whether `url` is an absolute http(s) URL with a host.
pub(crate) fn is_http_url(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://"))
        && url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.authority().is_some())
}

/// Resolves a TwiML URL against the document it came from, as a browser
/// would for the common forms: absolute, scheme-relative, root-relative and
/// path-relative. `None` when there is nothing to resolve against.
pub(crate) fn resolve(base: Option<&str>, target: &str) -> Option<String> {
    let target = target.trim();
    if target.starts_with("http://") || target.starts_with("https://") {
        return Some(target.to_owned());
    }
    let base: Uri = base?.parse().ok()?;
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    if let Some(rest) = target.strip_prefix("//") {
        return Some(format!("{scheme}://{rest}"));
    }
    if target.starts_with('/') {
        return Some(format!("{scheme}://{authority}{target}"));
    }
    if let Some(query) = target.strip_prefix('?') {
        return Some(format!("{scheme}://{authority}{}?{query}", base.path()));
    }
    let path = base.path();
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("{scheme}://{authority}{dir}{target}"))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn resolves_relative_urls_against_the_document() {
        let base = Some("http://127.0.0.1:8099/twilio/answer?job=7");
        assert_eq!(
            resolve(base, "/twilio/gather?q=1").unwrap(),
            "http://127.0.0.1:8099/twilio/gather?q=1"
        );
        assert_eq!(
            resolve(base, "gather?q=1").unwrap(),
            "http://127.0.0.1:8099/twilio/gather?q=1"
        );
        assert_eq!(
            resolve(base, "?q=2").unwrap(),
            "http://127.0.0.1:8099/twilio/answer?q=2"
        );
        assert_eq!(resolve(base, "//other:1/x").unwrap(), "http://other:1/x");
        assert_eq!(resolve(base, "https://a/b").unwrap(), "https://a/b");
        assert_eq!(resolve(None, "/x"), None);
        assert_eq!(resolve(None, "https://a/b").unwrap(), "https://a/b");
    }

    #[test]
    fn requests_are_signed_as_twilio_signs_them() {
        let client = WebhookClient::new(Wire::Twilio, "tok", Duration::from_secs(1)).unwrap();
        let params = vec![("Digits".to_owned(), "1".to_owned())];
        let post = client
            .build(Method::Post, "http://h/a?x=1", &params, Encoding::Form)
            .unwrap();
        let sig = post.headers()["X-Twilio-Signature"].to_str().unwrap();
        assert!(signature::verify("tok", "http://h/a?x=1", &params, sig));
        let get = client
            .build(Method::Get, "http://h/a?x=1", &params, Encoding::Form)
            .unwrap();
        assert_eq!(get.uri().to_string(), "http://h/a?x=1&Digits=1");
        let sig = get.headers()["X-Twilio-Signature"].to_str().unwrap();
        assert!(signature::verify(
            "tok",
            "http://h/a?x=1&Digits=1",
            &[],
            sig
        ));
        assert!(
            client
                .build(Method::Post, "/relative", &params, Encoding::Form)
                .is_err()
        );
    }

    #[test]
    fn exotel_requests_carry_the_url_credentials_and_no_signature() {
        let client = WebhookClient::new(Wire::Exotel, "tok", Duration::from_secs(1)).unwrap();
        let params = vec![("Status".to_owned(), "completed".to_owned())];
        let json = client
            .build(
                Method::Post,
                "http://exo%40tel:p%20w@h:81/s?x=1&sig=t",
                &params,
                Encoding::Json,
            )
            .unwrap();
        assert_eq!(json.uri().to_string(), "http://h:81/s?x=1&sig=t");
        assert!(json.headers().get("X-Twilio-Signature").is_none());
        assert_eq!(
            json.headers()["authorization"],
            format!("Basic {}", STANDARD.encode("exo@tel:p w"))
        );
        assert_eq!(json.headers()["content-type"], "application/json");
        let form = client
            .build(Method::Post, "http://h/s?sig=t", &params, Encoding::Form)
            .unwrap();
        assert!(form.headers().get("authorization").is_none());
        assert_eq!(
            form.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
    }
}
