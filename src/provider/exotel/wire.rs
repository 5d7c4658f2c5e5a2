//! Exotel REST replies: the `{"Call": {...}}` resource, the bulk call list,
//! `RestException` error bodies, and the one place an HTTP reply is
//! classified into a `ProviderError`.
//!
//! Owns: the JSON shapes, Exotel's local date-time format and the
//! classification rules. Does not own: sending requests (see `client`).
//!
//! Exotel writes dates as `YYYY-MM-DD HH:mm:ss` without a zone; they are
//! the account's local time, India Standard Time (UTC+05:30) for the Indian
//! accounts sampark is for, and are read and written as such.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::CallStatus;
use crate::domain::calendar::{civil_from_days, days_from_civil};
use crate::provider::twilio::redact_numbers;
use crate::provider::{CallInfo, ProviderError};

/// IST's offset from UTC, in milliseconds.
const IST_OFFSET_MS: i64 = (5 * 3_600 + 30 * 60) * 1_000;

/// Whether a request changes state at Exotel, which decides what an
/// ambiguous failure means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Effect {
    /// Originate: an ambiguous failure may have placed the call.
    Writes,
    /// Call details, call list: ambiguity is just "try later".
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
#[serde(rename_all = "PascalCase")]
struct CallResource {
    sid: String,
    status: String,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CallEnvelope {
    call: CallResource,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListMetadata {
    #[serde(default)]
    next_page_uri: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CallPage {
    #[serde(default)]
    metadata: ListMetadata,
    #[serde(default)]
    calls: Vec<CallResource>,
}

impl CallResource {
    fn into_info(self) -> Result<CallInfo, String> {
        let status = self.status.parse::<CallStatus>()?;
        Ok(CallInfo {
            sid: self.sid,
            status,
            created_ms: self.date_created.as_deref().and_then(parse_local_ms),
        })
    }
}

/// Reads a `{"Call": {...}}` reply (to connect and to call details).
pub(super) fn parse_call(body: &[u8]) -> Result<CallInfo, String> {
    serde_json::from_slice::<CallEnvelope>(body)
        .map_err(|e| format!("unreadable call resource: {e}"))?
        .call
        .into_info()
}

/// Reads one page of the bulk call details and the next page's URI.
pub(super) fn parse_call_page(body: &[u8]) -> Result<(Vec<CallInfo>, Option<String>), String> {
    let page: CallPage =
        serde_json::from_slice(body).map_err(|e| format!("unreadable call list: {e}"))?;
    let calls = page
        .calls
        .into_iter()
        .map(CallResource::into_info)
        .collect::<Result<Vec<_>, _>>()?;
    let next = page.metadata.next_page_uri.filter(|u| !u.is_empty());
    Ok((calls, next))
}

/// `RestException`'s `Code` and `Message` (Exotel writes `Code` as a
/// number or a string, depending on the API).
fn rest_exception(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let exception = &value["RestException"];
    let code = match &exception["Code"] {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let message = exception["Message"].as_str().map(str::to_owned);
    (code, message)
}

/// Classifies a non-2xx reply, by HTTP status first (Exotel's documented
/// contract) and `RestException.Code` where the status alone is ambiguous.
///
/// | reply | error | the dialer |
/// |---|---|---|
/// | 429 | `Throttled` (honours `Retry-After`) | later |
/// | 401, 403 | `Unauthorized` (key/token wrong, account suspended) | pauses, later |
/// | 402 | `Throttled` (balance or plan limit: money, not the number) | later |
/// | other 4xx | `Rejected`: Exotel validates before it dials | never |
/// | 503 | `Transient`: refused at the door | later |
/// | other 5xx, anything else | writes `Unknown` (may have dialled), reads `Transient` | reconcile / later |
pub(super) fn classify(reply: &Reply, effect: Effect) -> ProviderError {
    let (code, message) = rest_exception(&reply.body);
    let message = match message {
        Some(m) => redact_numbers(&m),
        None => fallback_message(reply),
    };
    let numeric_code = code.as_deref().and_then(|c| c.parse::<u32>().ok());
    match (reply.status, effect) {
        (429 | 402, _) => ProviderError::Throttled {
            retry_after: reply.retry_after,
            message,
        },
        (401 | 403, _) => ProviderError::Unauthorized {
            http: reply.status,
            message,
        },
        (400..=499, _) => ProviderError::Rejected {
            http: reply.status,
            code: numeric_code,
            message,
        },
        (503, _) | (_, Effect::ReadOnly) => {
            ProviderError::Transient(format!("HTTP {}: {message}", reply.status))
        }
        (_, Effect::Writes) => ProviderError::Unknown(format!("HTTP {}: {message}", reply.status)),
    }
}

fn fallback_message(reply: &Reply) -> String {
    let text = String::from_utf8_lossy(&reply.body);
    let start: String = text.trim().chars().take(200).collect();
    if start.is_empty() {
        "no error details in the reply".to_owned()
    } else {
        redact_numbers(&start)
    }
}

/// `Retry-After` in delta-seconds.
pub(super) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `YYYY-MM-DD HH:mm:ss` (IST) → Unix milliseconds.
pub fn parse_local_ms(raw: &str) -> Option<i64> {
    let (date, time) = raw.trim().split_once(' ')?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    let mut t = time.split(':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let second: i64 = t.next()?.parse().ok()?;
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
    {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(secs * 1_000 - IST_OFFSET_MS)
}

/// Unix milliseconds → `YYYY-MM-DD HH:mm:ss` (IST), seconds truncated.
pub fn format_local(unix_ms: i64) -> String {
    let local = unix_ms + IST_OFFSET_MS;
    let (year, month, day) = civil_from_days(local.div_euclid(86_400_000));
    let secs = local.rem_euclid(86_400_000) / 1_000;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3_600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            retry_after: None,
            body: bytes::Bytes::from(body.to_owned()),
        }
    }

    const CONNECTED: &str = r#"{"Call": {"Sid": "b6cfaf5f5cef3ca0fc937749ef960e25",
        "ParentCallSid": null, "DateCreated": "2016-11-29 15:59:10",
        "DateUpdated": "2016-11-29 15:59:10", "AccountSid": "exoacc",
        "To": null, "From": "09876543210", "PhoneNumberSid": "06742100100",
        "Status": "in-progress", "StartTime": "2016-11-29 15:59:10",
        "EndTime": null, "Duration": null, "Price": null,
        "Direction": "outbound-api", "AnsweredBy": null,
        "ForwardedFrom": null, "CallerName": null,
        "Uri": "/v1/Accounts/exoacc/Calls/b6cfaf5f5cef3ca0fc937749ef960e25.json",
        "RecordingUrl": null}}"#;

    #[test]
    fn reads_the_call_envelope() {
        let info = parse_call(CONNECTED.as_bytes()).unwrap();
        assert_eq!(info.sid, "b6cfaf5f5cef3ca0fc937749ef960e25");
        assert_eq!(info.status, CallStatus::InProgress);
        // 2016-11-29 15:59:10 IST = 10:29:10 UTC.
        assert_eq!(info.created_ms, Some(1_480_415_350_000));
        for (raw, want) in [
            ("queued", CallStatus::Queued),
            ("ringing", CallStatus::Ringing),
            ("completed", CallStatus::Completed),
            ("failed", CallStatus::Failed),
            ("busy", CallStatus::Busy),
            ("no-answer", CallStatus::NoAnswer),
            ("canceled", CallStatus::Canceled),
        ] {
            let body = format!(r#"{{"Call":{{"Sid":"x","Status":"{raw}"}}}}"#);
            assert_eq!(parse_call(body.as_bytes()).unwrap().status, want);
        }
        assert!(parse_call(br#"{"Call":{"Sid":"x","Status":"exploded"}}"#).is_err());
        assert!(parse_call(br#"{"Sid":"x","Status":"queued"}"#).is_err());
        assert!(parse_call(b"<TwilioResponse/>").is_err());
    }

    #[test]
    fn reads_a_bulk_page() {
        let body = r#"{"Metadata":{"Total":2,"PageSize":2,"FirstPageUri":"/x",
            "PrevPageUri":null,"NextPageUri":"/v1/Accounts/a/Calls.json?Before=abc"},
            "Calls":[{"Sid":"c1","Status":"completed","DateCreated":"2026-01-01 10:00:00"},
                     {"Sid":"c2","Status":"busy","DateCreated":null}]}"#;
        let (calls, next) = parse_call_page(body.as_bytes()).unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].created_ms, None);
        assert_eq!(
            next.as_deref(),
            Some("/v1/Accounts/a/Calls.json?Before=abc")
        );
        let (calls, next) =
            parse_call_page(br#"{"Metadata":{"NextPageUri":null},"Calls":[]}"#).unwrap();
        assert!(calls.is_empty() && next.is_none());
    }

    #[test]
    fn classifies_every_documented_status() {
        let ex = |status: u16, code: &str, message: &str| {
            reply(
                status,
                &format!(
                    r#"{{"RestException":{{"Status":{status},"Code":{code},"Message":"{message}"}}}}"#
                ),
            )
        };
        // 400: a bad parameter, e.g. a number Exotel cannot dial.
        let err = classify(
            &ex(400, "34001", "From 09876543210 is not a valid phone number"),
            Effect::Writes,
        );
        assert_eq!(
            err,
            ProviderError::Rejected {
                http: 400,
                code: Some(34001),
                message: "From 09*****3210 is not a valid phone number".into(),
            }
        );
        // A string code (the SMS and newer APIs) keeps the message.
        let err = classify(&ex(404, r#""NOT_FOUND""#, "no such call"), Effect::Writes);
        assert!(matches!(
            err,
            ProviderError::Rejected {
                http: 404,
                code: None,
                ..
            }
        ));
        for status in [401, 403] {
            let err = classify(&ex(status, r#""UNAUTHORIZED""#, "bad key"), Effect::Writes);
            assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err:?}");
        }
        let mut throttled = ex(429, "429", "Too Many Requests");
        throttled.retry_after = Some(Duration::from_secs(30));
        assert_eq!(
            classify(&throttled, Effect::Writes),
            ProviderError::Throttled {
                retry_after: Some(Duration::from_secs(30)),
                message: "Too Many Requests".into()
            }
        );
        let err = classify(&ex(402, "402", "insufficient balance"), Effect::Writes);
        assert!(matches!(err, ProviderError::Throttled { .. }), "{err:?}");
        let err = classify(&ex(503, "503", "down"), Effect::Writes);
        assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
        for status in [500, 502, 504] {
            let err = classify(&reply(status, "<html>oops</html>"), Effect::Writes);
            assert!(matches!(err, ProviderError::Unknown(_)), "{err:?}");
            let err = classify(&reply(status, ""), Effect::ReadOnly);
            assert!(matches!(err, ProviderError::Transient(_)), "{err:?}");
        }
    }

    #[test]
    fn local_dates_round_trip_in_ist() {
        assert_eq!(
            parse_local_ms("2026-01-01 05:30:00"),
            Some(1_767_225_600_000)
        );
        assert_eq!(format_local(1_767_225_600_000), "2026-01-01 05:30:00");
        assert_eq!(format_local(1_767_225_600_999), "2026-01-01 05:30:00");
        for bad in [
            "",
            "2026-01-01",
            "2026-13-01 00:00:00",
            "2026-01-01 24:00:00",
            "x y",
        ] {
            assert_eq!(parse_local_ms(bad), None, "{bad}");
        }
    }
}
