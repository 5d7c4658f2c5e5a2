//! Exotel's outgoing webhooks: no signature; Basic auth taken from the
//! URL's user info (as an HTTP client sends a `https://user:pass@host/`
//! URL), form bodies, and JSON status callbacks when asked for.
//!
//! Owns: building one such request. Does not own: sending it, timeouts and
//! retries (`client`), what is sent when (`call`, `exotel`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, USER_AGENT};
use http::{Request, Uri};
use http_body_util::Full;

use super::client::{Encoding, WebhookError};
use super::twiml::Method;

/// An Exotel webhook: no signature; the URL's user info, if any, becomes
/// `Authorization: Basic` (as an HTTP client does with such a URL) and is
/// taken out of the request URI.
pub(crate) fn build(
    method: Method,
    url: &str,
    params: &[(String, String)],
    encoding: Encoding,
) -> Result<Request<Full<Bytes>>, WebhookError> {
    let (url, authorization) = split_userinfo(url);
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let (target, body, content_type) = match (method, encoding) {
        (Method::Get, _) => {
            let joiner = if url.contains('?') { '&' } else { '?' };
            let target = if form.is_empty() {
                url.clone()
            } else {
                format!("{url}{joiner}{form}")
            };
            (target, Bytes::new(), None)
        }
        (Method::Post, Encoding::Form) => (
            url.clone(),
            Bytes::from(form),
            Some("application/x-www-form-urlencoded"),
        ),
        (Method::Post, Encoding::Json) => {
            let object: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let body = serde_json::Value::Object(object).to_string();
            (url.clone(), Bytes::from(body), Some("application/json"))
        }
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| WebhookError::BadUrl(url.clone()))?;
    let mut builder = Request::builder()
        .method(match method {
            Method::Get => http::Method::GET,
            Method::Post => http::Method::POST,
        })
        .uri(uri)
        .header(USER_AGENT, "Exotel (sampark-simulator)");
    if let Some(value) = authorization {
        builder = builder.header(http::header::AUTHORIZATION, value);
    }
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    builder
        .body(Full::new(body))
        .map_err(|e| WebhookError::BadUrl(format!("{url}: {e}")))
}

/// `url` without its user info, and that user info as a Basic
/// `Authorization` value (percent-decoded).
fn split_userinfo(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let decode = |s: &str| percent_decode(s);
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let credentials = format!("{}:{}", decode(user), decode(password));
    (
        format!("{scheme}://{host}{tail}"),
        Some(format!("Basic {}", STANDARD.encode(credentials))),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
