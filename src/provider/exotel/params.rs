//! Exotel's webhook parameters, decoded into what sampark acts on: status
//! callbacks, inbound calls, gathered keys and `<Dial>` outcomes.
//!
//! Owns: parameter names, body formats and value mapping. Does not own:
//! authentication (`token`) nor what a status means for the call (the core).
//!
//! Exotel posts forms (`<Gather>` and `<Dial>` actions, applets) or, for a
//! status callback placed with `StatusCallbackContentType=application/json`,
//! a JSON object; both read as the same name/value pairs.

use serde_json::Value;

use crate::domain::json_guard;
use crate::domain::{CallStatus, PhoneNumber};
use crate::provider::{
    BridgeResult, BridgeStatus, FormError, InboundCall, Params, ParamsError, StatusEvent,
    check_params, read_form,
};

/// Decodes a webhook body by its `Content-Type`: a JSON object's scalar
/// members as strings (nulls skipped), else a form; either within the
/// bounds of `provider::form` (a JSON body also within `json_guard`'s: no
/// key twice, no deep nesting).
pub(super) fn parse_body(content_type: Option<&str>, body: &[u8]) -> Result<Params, FormError> {
    let is_json = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return read_form(body);
    }
    let text = std::str::from_utf8(body).map_err(|e| FormError::Json(e.to_string()))?;
    json_guard::check_document(text).map_err(|e| FormError::Json(e.to_string()))?;
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err(FormError::Json("not an object".into()));
    };
    let params: Params = map
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            Value::Number(n) => Some((k, n.to_string())),
            Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect();
    check_params(&params)?;
    Ok(params)
}

/// The first non-blank value of `name`.
pub(crate) fn field<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && *v != "null")
}

/// A status callback: `CallSid` and `Status` (`completed`, `busy`,
/// `no-answer`, `failed`, and `canceled` if Exotel sends it). An `answered`
/// event (`EventType=answered`) means the call is in progress, whatever its
/// `Status` says.
pub(super) fn status_event(params: &Params) -> Result<StatusEvent, ParamsError> {
    let call_sid = field(params, "CallSid")
        .ok_or_else(|| ParamsError("status callback has no CallSid".into()))?;
    let status = if field(params, "EventType") == Some("answered") {
        CallStatus::InProgress
    } else {
        let raw = field(params, "Status")
            .ok_or_else(|| ParamsError("status callback has no Status".into()))?;
        raw.parse::<CallStatus>()
            .map_err(|_| ParamsError(format!("status callback has an unknown Status {raw:?}")))?
    };
    Ok(StatusEvent {
        call_sid: call_sid.to_owned(),
        status,
    })
}

/// An inbound call: `CallSid` and `CallFrom` (`From` as a fallback), which
/// Exotel writes the Indian way (`09876543210`); it is given in E.164 when
/// it reads as an Indian number, as received otherwise.
pub(super) fn inbound_call(params: &Params) -> Result<InboundCall, ParamsError> {
    let call_sid = field(params, "CallSid")
        .ok_or_else(|| ParamsError("the inbound call has no `CallSid`".into()))?;
    let raw = field(params, "CallFrom")
        .or_else(|| field(params, "From"))
        .unwrap_or_default();
    let from = PhoneNumber::from_indian_input(raw)
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|_| raw.to_owned());
    Ok(InboundCall {
        call_sid: call_sid.to_owned(),
        from,
    })
}

/// The keys pressed: `DigitsPressed` (ExoML `<Gather>`), else `digits`
/// (applets, which quote it: `"12"`); `""` when none were.
pub(super) fn digits(params: &Params) -> String {
    field(params, "DigitsPressed")
        .or_else(|| field(params, "digits"))
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// A `<Dial>` outcome, posted to its `action`: `DialCallStatus`
/// (`completed`, `busy`, `no-answer`, `failed`, `canceled`),
/// `DialCallDuration` (absent or 0 when never connected), `RecordingUrl`.
pub(super) fn bridge_result(params: &Params) -> Result<BridgeResult, ParamsError> {
    let raw = field(params, "DialCallStatus")
        .ok_or_else(|| ParamsError("the dial outcome has no DialCallStatus".into()))?;
    let status = BridgeStatus::parse(raw).ok_or_else(|| {
        ParamsError(format!(
            "the dial outcome has an unknown DialCallStatus {raw:?}"
        ))
    })?;
    Ok(BridgeResult {
        status,
        duration_secs: field(params, "DialCallDuration")
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        recording: field(params, "RecordingUrl").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Params {
        parse_body(Some("application/x-www-form-urlencoded"), body.as_bytes()).unwrap()
    }

    #[test]
    fn json_and_form_bodies_read_alike() {
        let json = br#"{"CallSid":"c1","Status":"completed","DateUpdated":"2026-01-01 10:00:00",
            "RecordingUrl":null,"Legs":[{"x":1}],"Duration":31}"#;
        let params = parse_body(Some("application/json; charset=utf-8"), json).unwrap();
        assert_eq!(field(&params, "Duration"), Some("31"));
        assert_eq!(field(&params, "RecordingUrl"), None);
        assert_eq!(status_event(&params).unwrap().status, CallStatus::Completed);
        assert!(parse_body(Some("application/json"), b"[1]").is_err());
        assert!(parse_body(Some("application/json"), b"{").is_err());
        assert!(
            parse_body(
                Some("application/json"),
                br#"{"CallSid": "a", "CallSid": "b"}"#
            )
            .unwrap_err()
            .to_string()
            .contains("key `CallSid` appears twice")
        );
        let many = format!("{}&x=1", vec!["a=1"; crate::provider::MAX_FIELDS].join("&"));
        assert_eq!(
            parse_body(None, many.as_bytes()),
            Err(FormError::TooManyFields)
        );
        let params = form("CallSid=c1&Status=no-answer");
        assert_eq!(status_event(&params).unwrap().status, CallStatus::NoAnswer);
        assert!(parse_body(None, b"").unwrap().is_empty());
    }

    #[test]
    fn status_values_and_events() {
        for (raw, want) in [
            ("completed", CallStatus::Completed),
            ("busy", CallStatus::Busy),
            ("no-answer", CallStatus::NoAnswer),
            ("failed", CallStatus::Failed),
            ("canceled", CallStatus::Canceled),
        ] {
            let params = form(&format!("CallSid=c&Status={raw}&EventType=terminal"));
            assert_eq!(status_event(&params).unwrap().status, want, "{raw}");
        }
        let answered = form("CallSid=c&Status=in-progress&EventType=answered");
        assert_eq!(
            status_event(&answered).unwrap().status,
            CallStatus::InProgress
        );
        let answered = form("CallSid=c&EventType=answered");
        assert_eq!(
            status_event(&answered).unwrap().status,
            CallStatus::InProgress
        );
        assert!(status_event(&form("CallSid=c&Status=exploded")).is_err());
        assert!(status_event(&form("Status=busy")).is_err());
        assert!(status_event(&form("CallSid=c")).is_err());
    }

    #[test]
    fn inbound_caller_becomes_e164_when_indian() {
        let call = inbound_call(&form(
            "CallSid=c9&CallFrom=09876543210&CallTo=06742100100&Direction=incoming",
        ))
        .unwrap();
        assert_eq!(
            (call.call_sid.as_str(), call.from.as_str()),
            ("c9", "+919876543210")
        );
        let call = inbound_call(&form("CallSid=c9&From=%2B919876543210")).unwrap();
        assert_eq!(call.from, "+919876543210");
        let call = inbound_call(&form("CallSid=c9&CallFrom=withheld")).unwrap();
        assert_eq!(call.from, "withheld");
        assert!(inbound_call(&form("CallFrom=09876543210")).is_err());
    }

    #[test]
    fn digits_from_gather_or_applet() {
        assert_eq!(digits(&form("DigitsPressed=12%23")), "12#");
        assert_eq!(digits(&form("digits=%2212%22")), "12");
        assert_eq!(digits(&form("CallSid=c")), "");
        assert_eq!(digits(&form("DigitsPressed=")), "");
    }

    #[test]
    fn dial_outcome_fields() {
        let p = form(
            "DialCallStatus=completed&DialCallSid=d1&DialCallDuration=42&RecordingUrl=https%3A%2F%2Fr%2F1.mp3",
        );
        assert_eq!(
            bridge_result(&p).unwrap(),
            BridgeResult {
                status: BridgeStatus::Completed,
                duration_secs: 42,
                recording: Some("https://r/1.mp3".into()),
            }
        );
        let p = form("DialCallStatus=no-answer&DialCallDuration=x");
        let r = bridge_result(&p).unwrap();
        assert_eq!(
            (r.status, r.duration_secs, r.recording),
            (BridgeStatus::NoAnswer, 0, None)
        );
        assert!(bridge_result(&form("DialCallSid=d1")).is_err());
        assert!(bridge_result(&form("DialCallStatus=exploded")).is_err());
    }
}
