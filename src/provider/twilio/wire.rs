//! Twilio REST replies: call resources, list pages and error bodies, and the
//! one place an HTTP reply is classified into a `ProviderError`.
//!
//! Owns: the JSON shapes and the classification rules. Does not own: sending
//! requests (see `client`) nor acting on the class (the dialer does).

use std::time::Duration;

use serde::Deserialize;

use super::date::parse_rfc2822_ms;
use crate::domain::CallStatus;
use crate::provider::{CallInfo, ProviderError};

/// Twilio's error code for "too many requests / concurrent calls".
const THROTTLE_CODE: u32 = 20429;

/// Whether a request changes state at Twilio, which decides what an
/// ambiguous failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    /// Originate, hang up: an ambiguous failure may have taken effect.
    Writes,
    /// Fetch, list: nothing to reconcile, so ambiguity is just "try later".
    ReadOnly,
}

/// An HTTP reply as received.
#[derive(Clone, Debug)]
pub(super) struct Reply {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: bytes::Bytes,
}

#[derive(Deserialize)]
struct CallResource {
    sid: String,
    status: String,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Deserialize)]
struct CallPage {
    #[serde(default)]
    calls: Vec<CallResource>,
    #[serde(default)]
    next_page_uri: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

impl CallResource {
    fn into_info(self) -> Result<CallInfo, String> {
        let status = self.status.parse::<CallStatus>()?;
        Ok(CallInfo {
            sid: self.sid,
            status,
            created_ms: self.date_created.as_deref().and_then(parse_rfc2822_ms),
        })
    }
}

/// Reads one call resource (the reply to create, fetch and update).
pub(super) fn parse_call(body: &[u8]) -> Result<CallInfo, String> {
    serde_json::from_slice::<CallResource>(body)
        .map_err(|e| format!("unreadable call resource: {e}"))?
        .into_info()
}

/// Reads one page of a call list and the URI of the next page, if any.
pub(super) fn parse_call_page(body: &[u8]) -> Result<(Vec<CallInfo>, Option<String>), String> {
    let page: CallPage =
        serde_json::from_slice(body).map_err(|e| format!("unreadable call list: {e}"))?;
    let calls = page
        .calls
        .into_iter()
        .map(CallResource::into_info)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((calls, page.next_page_uri.filter(|u| !u.is_empty())))
}

/// Classifies a non-2xx reply.
///
/// - 429, or Twilio code 20429 at any status: `Throttled`, honouring
///   `Retry-After`.
/// - Other 4xx: `Rejected`. Twilio validates before acting, so a 4xx means
///   no call was created (21211 invalid `To` is the common case).
/// - 503: `Transient`. Twilio (and the load balancers in front of it) answer
///   503 when refusing work at the door, before any call is created.
/// - Other 5xx (and anything unexpected): for a write, `Unknown`. A 500 or a
///   gateway 502/504 can come after the call was created and queued — the
///   API front end may fail while writing the reply — so redialling could
///   ring the citizen twice; the dialer reconciles through `find_calls`.
///   For a read, `Transient`: there is nothing to reconcile.
pub(super) fn classify(reply: &Reply, effect: Effect) -> ProviderError {
    let error: ErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let message = match error.message {
        Some(m) => redact_numbers(&m),
        None => fallback_message(reply),
    };
    if reply.status == 429 || error.code == Some(THROTTLE_CODE) {
        return ProviderError::Throttled {
            retry_after: reply.retry_after,
            message,
        };
    }
    let described = format!("HTTP {}: {message}", reply.status);
    match (reply.status, effect) {
        (401 | 403, _) => ProviderError::Unauthorized {
            http: reply.status,
            message,
        },
        (400..=499, _) => ProviderError::Rejected {
            http: reply.status,
            code: error.code,
            message,
        },
        (503, _) | (_, Effect::ReadOnly) => ProviderError::Transient(described),
        (_, Effect::Writes) => ProviderError::Unknown(described),
    }
}

/// What to say about an error reply that is not Twilio's JSON (a proxy's
/// HTML page, an empty body): its start, numbers masked.
fn fallback_message(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    let start: String = text.trim().chars().take(200).collect();
    if start.is_empty() {
        "no error details in the reply".to_owned()
    } else {
        redact_numbers(&start)
    }
}

/// `Retry-After` in its delta-seconds form, which is what Twilio sends. The
/// HTTP-date form would need the local clock; it reads as absent, so the
/// dialer's own backoff applies.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Masks phone numbers inside provider text. Twilio's messages quote the
/// number they refused ("The 'To' number +919876543210 is not a valid phone
/// number"), and these messages reach logs and job records. Any run of 7 or
/// more digits keeps its first two and last four digits.
pub(crate) fn redact_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 0 {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        for (k, c) in chars[i..i + run].iter().enumerate() {
            let hidden = run >= 7 && k >= 2 && k + 4 < run;
            out.push(if hidden { '*' } else { *c });
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, retry_after: Option<u64>, body: &str) -> Reply {
        Reply {
            status,
            retry_after: retry_after.map(Duration::from_secs),
            body: bytes::Bytes::from(body.to_owned()),
        }
    }

    const CREATED: &str = r#"{"sid":"CA0123456789abcdef0123456789abcdef","status":"queued",
        "date_created":"Tue, 10 Aug 2010 08:02:17 +0000","to":"+919876543210"}"#;

    #[test]
    fn parses_a_call_resource() {
        let info = parse_call(CREATED.as_bytes()).unwrap();
        assert_eq!(info.sid, "CA0123456789abcdef0123456789abcdef");
        assert_eq!(info.status, CallStatus::Queued);
        assert_eq!(info.created_ms, Some(1_281_427_337_000));
        let no_date = parse_call(br#"{"sid":"CA1","status":"ringing","date_created":null}"#);
        assert_eq!(no_date.unwrap().created_ms, None);
        assert!(parse_call(br#"{"sid":"CA1","status":"exploded"}"#).is_err());
        assert!(parse_call(b"<html>").is_err());
    }

    #[test]
    fn parses_a_call_page() {
        let body = format!(r#"{{"calls":[{CREATED}],"next_page_uri":"/2010-04-01/x?Page=1"}}"#);
        let (calls, next) = parse_call_page(body.as_bytes()).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(next.as_deref(), Some("/2010-04-01/x?Page=1"));
        let (calls, next) = parse_call_page(br#"{"calls":[],"next_page_uri":null}"#).unwrap();
        assert!(calls.is_empty() && next.is_none());
    }

    const INVALID_TO: &str = r#"{"code":21211,"message":"The 'To' number +919876543210 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;

    #[test]
    fn classifies_rejections_with_code_and_masked_message() {
        let err = classify(&reply(400, None, INVALID_TO), Effect::Writes);
        let ProviderError::Rejected {
            http,
            code,
            message,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*http, *code), (400, Some(21211)));
        assert_eq!(
            message,
            "The 'To' number +91******3210 is not a valid phone number."
        );
        let err = classify(&reply(401, None, ""), Effect::ReadOnly);
        assert!(matches!(err, ProviderError::Unauthorized { http: 401, .. }));
        let err = classify(&reply(404, None, ""), Effect::ReadOnly);
        assert!(matches!(err, ProviderError::Rejected { http: 404, .. }));
    }

    #[test]
    fn classifies_throttling_by_status_or_code() {
        let err = classify(
            &reply(
                429,
                Some(7),
                r#"{"code":20429,"message":"Too Many Requests"}"#,
            ),
            Effect::Writes,
        );
        assert_eq!(
            err,
            ProviderError::Throttled {
                retry_after: Some(Duration::from_secs(7)),
                message: "Too Many Requests".into()
            }
        );
        let err = classify(
            &reply(400, None, r#"{"code":20429,"message":"slow down"}"#),
            Effect::Writes,
        );
        assert!(matches!(
            err,
            ProviderError::Throttled {
                retry_after: None,
                ..
            }
        ));
    }

    #[test]
    fn classifies_server_errors_by_effect() {
        let unavailable = classify(&reply(503, None, "busy"), Effect::Writes);
        assert!(
            matches!(unavailable, ProviderError::Transient(_)),
            "{unavailable:?}"
        );
        for status in [500, 502, 504, 302] {
            let err = classify(
                &reply(status, None, r#"{"message":"oops"}"#),
                Effect::Writes,
            );
            assert_eq!(err, ProviderError::Unknown(format!("HTTP {status}: oops")));
            let err = classify(&reply(status, None, ""), Effect::ReadOnly);
            assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
        }
    }

    #[test]
    fn redaction_masks_long_digit_runs_only() {
        assert_eq!(
            redact_numbers("+14155550100 and 919876543210"),
            "+14*****0100 and 91******3210"
        );
        assert_eq!(
            redact_numbers("code 21211, 123456 ok"),
            "code 21211, 123456 ok"
        );
        assert_eq!(redact_numbers("1234567"), "12*4567");
        assert_eq!(redact_numbers("ଓଡ଼ିଆ 9876543210!"), "ଓଡ଼ିଆ 98****3210!");
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(" 12 "), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}
