//! Webhook parameters: the form bodies Twilio posts (status callbacks,
//! gather results and answering-machine verdicts) decoded into the few fields sampark acts on.
//!
//! Owns: parameter names and their parsing. Does not own: signature checks
//! (see `verify`), nor what a status or digit means for the call (the
//! webhook and IVR engine decide).

use crate::domain::CallStatus;
use crate::provider::{AnsweredBy, BridgeResult, BridgeStatus, FormError, read_form};

/// A webhook body that lacks what sampark needs to act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("status callback has no CallSid parameter")]
    MissingCallSid,
    #[error("status callback has no CallStatus parameter")]
    MissingCallStatus,
    #[error("status callback has an unknown CallStatus {0:?}")]
    UnknownCallStatus(String),
}

/// Decodes an `application/x-www-form-urlencoded` body within the bounds
/// of `provider::form`. Order and repeated names are kept because the
/// signature covers every pair as sent.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    read_form(body)
}

/// The first value of `name`, if present.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The first value of `name`, if present and not blank.
fn non_empty<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    param(params, name).map(str::trim).filter(|v| !v.is_empty())
}

/// The call a webhook is about.
pub fn call_sid(params: &[(String, String)]) -> Option<&str> {
    non_empty(params, "CallSid")
}

/// The keys pressed for a gather; `""` when the citizen pressed nothing
/// (Twilio omits `Digits` on an empty result).
pub fn digits(params: &[(String, String)]) -> String {
    param(params, "Digits").unwrap_or_default().to_owned()
}

/// How a `<Dial>` ended, from its `action` request: `DialCallStatus`
/// (`completed`, `answered`, `busy`, `no-answer`, `failed`, `canceled`),
/// `DialCallDuration` (seconds connected; absent when never connected) and,
/// for a recorded dial, `RecordingUrl`.
pub fn bridge_result(params: &[(String, String)]) -> Result<BridgeResult, String> {
    let raw = non_empty(params, "DialCallStatus")
        .ok_or("the dial's action request has no DialCallStatus")?;
    let status = BridgeStatus::parse(raw).ok_or_else(|| {
        format!("the dial's action request has an unknown DialCallStatus {raw:?}")
    })?;
    let duration_secs = non_empty(params, "DialCallDuration")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    Ok(BridgeResult {
        status,
        duration_secs,
        recording: non_empty(params, "RecordingUrl").map(str::to_owned),
    })
}

/// Who picked up, from `AnsweredBy` on the answer webhook of a call placed
/// with `MachineDetection`: `human`; `machine_start` (`Enable`), or
/// `machine_end_beep`, `machine_end_silence`, `machine_end_other`
/// (`DetectMessageEnd`); `fax`; `unknown`. `None` when absent or blank
/// (detection was not asked for). A value Twilio has not documented reads
/// as `Unknown`, so the survey is played rather than a person hung up on.
pub fn answered_by(params: &[(String, String)]) -> Option<AnsweredBy> {
    let raw = non_empty(params, "AnsweredBy")?;
    Some(match raw {
        "human" => AnsweredBy::Human,
        "machine_start" | "machine_end_beep" | "machine_end_silence" | "machine_end_other" => {
            AnsweredBy::Machine
        }
        "fax" => AnsweredBy::Fax,
        "unknown" => AnsweredBy::Unknown,
        other => {
            let shown: String = other.chars().take(32).collect();
            tracing::warn!(answered_by = %shown, "undocumented AnsweredBy value; treating it as unknown");
            AnsweredBy::Unknown
        }
    })
}

/// One status callback (`StatusCallbackEvent`s initiated, ringing, answered,
/// completed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCallback {
    pub call_sid: String,
    pub status: CallStatus,
    /// Twilio's `SequenceNumber`: the order callbacks for one call were sent.
    pub sequence: Option<u64>,
    /// `CallDuration`, in seconds, on the terminal callback.
    pub duration_secs: Option<u32>,
    /// `ErrorCode` when the call failed (e.g. `13224`).
    pub error_code: Option<String>,
}

impl StatusCallback {
    /// Reads a status callback. `CallSid` and a known `CallStatus` are
    /// required: without them there is nothing to act on. The numeric
    /// extras are informational, so a malformed one reads as absent rather
    /// than costing the status change it arrived with.
    pub fn from_params(params: &[(String, String)]) -> Result<Self, ParamError> {
        let call_sid = call_sid(params).ok_or(ParamError::MissingCallSid)?;
        let raw_status = non_empty(params, "CallStatus").ok_or(ParamError::MissingCallStatus)?;
        let status = raw_status
            .parse::<CallStatus>()
            .map_err(|_| ParamError::UnknownCallStatus(raw_status.to_owned()))?;
        Ok(StatusCallback {
            call_sid: call_sid.to_owned(),
            status,
            sequence: non_empty(params, "SequenceNumber").and_then(|v| v.parse().ok()),
            duration_secs: non_empty(params, "CallDuration").and_then(|v| v.parse().ok()),
            error_code: non_empty(params, "ErrorCode").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETED: &[u8] = b"AccountSid=ACaaaa&CallSid=CA0123&CallStatus=completed\
        &CallDuration=42&SequenceNumber=3&To=%2B919876543210&From=%2B14155550100\
        &Timestamp=Tue%2C+10+Aug+2010+08%3A02%3A17+%2B0000";

    #[test]
    fn parse_form_decodes_plus_and_percent_and_keeps_order() {
        let params = parse_form(b"b=1&To=%2B91+98&a=x%26y&b=2&empty=").unwrap();
        assert_eq!(
            params,
            vec![
                ("b".to_owned(), "1".to_owned()),
                ("To".to_owned(), "+91 98".to_owned()),
                ("a".to_owned(), "x&y".to_owned()),
                ("b".to_owned(), "2".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
        assert!(parse_form(b"").unwrap().is_empty());
    }

    #[test]
    fn status_callback_reads_all_fields() {
        let cb = StatusCallback::from_params(&parse_form(COMPLETED).unwrap()).unwrap();
        assert_eq!(
            cb,
            StatusCallback {
                call_sid: "CA0123".into(),
                status: CallStatus::Completed,
                sequence: Some(3),
                duration_secs: Some(42),
                error_code: None,
            }
        );
        let failed = parse_form(b"CallSid=CA9&CallStatus=failed&ErrorCode=13224").unwrap();
        let cb = StatusCallback::from_params(&failed).unwrap();
        assert_eq!(cb.status, CallStatus::Failed);
        assert_eq!(cb.error_code.as_deref(), Some("13224"));
        assert_eq!(cb.sequence, None);
    }

    #[test]
    fn every_twilio_status_is_understood() {
        for (raw, want) in [
            ("queued", CallStatus::Queued),
            ("initiated", CallStatus::Initiated),
            ("ringing", CallStatus::Ringing),
            ("in-progress", CallStatus::InProgress),
            ("answered", CallStatus::InProgress),
            ("completed", CallStatus::Completed),
            ("busy", CallStatus::Busy),
            ("no-answer", CallStatus::NoAnswer),
            ("failed", CallStatus::Failed),
            ("canceled", CallStatus::Canceled),
        ] {
            let params = parse_form(format!("CallSid=CA1&CallStatus={raw}").as_bytes()).unwrap();
            assert_eq!(StatusCallback::from_params(&params).unwrap().status, want);
        }
    }

    #[test]
    fn missing_or_unknown_status_is_a_clear_error() {
        let err = StatusCallback::from_params(&parse_form(b"CallSid=CA1").unwrap()).unwrap_err();
        assert_eq!(err, ParamError::MissingCallStatus);
        let err = StatusCallback::from_params(&parse_form(b"CallSid=CA1&CallStatus=").unwrap())
            .unwrap_err();
        assert_eq!(err, ParamError::MissingCallStatus);
        let err =
            StatusCallback::from_params(&parse_form(b"CallSid=CA1&CallStatus=exploded").unwrap())
                .unwrap_err();
        assert_eq!(err, ParamError::UnknownCallStatus("exploded".into()));
        assert!(err.to_string().contains("\"exploded\""));
        let err =
            StatusCallback::from_params(&parse_form(b"CallStatus=ringing").unwrap()).unwrap_err();
        assert_eq!(err, ParamError::MissingCallSid);
    }

    #[test]
    fn malformed_extras_read_as_absent() {
        let params =
            parse_form(b"CallSid=CA1&CallStatus=busy&SequenceNumber=x&CallDuration=-1").unwrap();
        let cb = StatusCallback::from_params(&params).unwrap();
        assert_eq!((cb.sequence, cb.duration_secs), (None, None));
    }

    #[test]
    fn answered_by_reads_every_documented_value() {
        for (raw, want) in [
            ("human", AnsweredBy::Human),
            ("machine_start", AnsweredBy::Machine),
            ("machine_end_beep", AnsweredBy::Machine),
            ("machine_end_silence", AnsweredBy::Machine),
            ("machine_end_other", AnsweredBy::Machine),
            ("fax", AnsweredBy::Fax),
            ("unknown", AnsweredBy::Unknown),
            ("robot", AnsweredBy::Unknown),
        ] {
            let params = parse_form(format!("CallSid=CA1&AnsweredBy={raw}").as_bytes()).unwrap();
            assert_eq!(answered_by(&params), Some(want), "{raw}");
        }
        assert_eq!(answered_by(&parse_form(b"CallSid=CA1").unwrap()), None);
        assert_eq!(
            answered_by(&parse_form(b"CallSid=CA1&AnsweredBy=").unwrap()),
            None
        );
        let machine = |raw: &str| {
            answered_by(&parse_form(format!("AnsweredBy={raw}").as_bytes()).unwrap())
                .is_some_and(AnsweredBy::is_machine)
        };
        assert!(machine("machine_start") && machine("fax"));
        assert!(!machine("human") && !machine("unknown"));
    }

    #[test]
    fn digits_and_call_sid_helpers() {
        let params = parse_form(b"CallSid=CA7&Digits=12%23").unwrap();
        assert_eq!(digits(&params), "12#");
        assert_eq!(call_sid(&params), Some("CA7"));
        let params = parse_form(b"CallSid=&Other=1").unwrap();
        assert_eq!(digits(&params), "");
        assert_eq!(call_sid(&params), None);
    }
}
