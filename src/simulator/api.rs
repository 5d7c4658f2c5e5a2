//! The REST side: auth for both wires, then Twilio's 2010-04-01 Calls API
//! under `/2010-04-01/Accounts/{AccountSid}/`, with its validation, limits
//! and error bodies (Exotel's routes are in `exotel`); and the start of a
//! call both share.
//!
//! Owns: auth, routing, request parsing and the JSON replies. Does not own:
//! what a call does once created (`call`), the call list filters' date
//! parsing (`clock`), the simulator's own control routes (`control`).

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::json;
use subtle::ConstantTimeEq;
use tracing::{debug, info};

use super::call;
use super::client::{Encoding, is_http_url};
use super::clock::now_ms;
use super::control;
use super::exotel;
use super::ledger::LedgerEntry;
use super::list::list_calls;
use super::plan::{CallPlan, Events, MachineDetection, Script};
use super::registry::{CallRecord, call_resource};
use super::server::Shared;
use super::twiml::Method;
use super::wire::Wire;
use crate::domain::{CallStatus, PhoneNumber};

/// Largest request body accepted (Twilio's own limit is far above any
/// originate; this only stops abuse).
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(crate) type Reply = Response<Full<Bytes>>;
pub(crate) type Params = Vec<(String, String)>;

/// Serves one REST request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Reply, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let authorized = is_authorized(&shared, &req);
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                20001,
                "Request body too large or unreadable",
            ));
        }
    };
    if !authorized {
        let mut reply = match shared.config.wire {
            Wire::Twilio => error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
            Wire::Exotel => exotel::error(StatusCode::UNAUTHORIZED, "Authentication failed"),
        };
        reply.headers_mut().insert(
            WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"Twilio API\""),
        );
        return Ok(reply);
    }
    let reply = match shared.config.wire {
        Wire::Twilio => route(&shared, &method, &path, &query, &body),
        Wire::Exotel if path == control::INBOUND_PATH => control::inbound(&shared, &method, &body),
        Wire::Exotel => exotel::route(&shared, &method, &path, &query, &body),
    };
    debug!(http.method = %method, http.path = %path, http.status = reply.status().as_u16(), "simulator REST request");
    Ok(reply)
}

fn route(
    shared: &Arc<Shared>,
    method: &http::Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Reply {
    if path == control::INBOUND_PATH {
        return control::inbound(shared, method, body);
    }
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            20404,
            &format!("The requested resource {path} was not found"),
        )
    };
    let Some(rest) = path.strip_prefix("/2010-04-01/Accounts/") else {
        return not_found();
    };
    let Some((account, resource)) = rest.split_once('/') else {
        return not_found();
    };
    if account != shared.config.account_sid {
        return not_found();
    }
    let form = || parse_form(body);
    match (method, resource) {
        (&http::Method::POST, "Calls.json") => create(shared, &form()),
        (&http::Method::GET, "Calls.json") => list_calls(shared, &parse_form(query.as_bytes())),
        (m, call) => match call
            .strip_prefix("Calls/")
            .and_then(|c| c.strip_suffix(".json"))
        {
            Some(sid) if !sid.contains('/') && m == http::Method::GET => {
                match shared.registry.get(sid) {
                    Some(record) => ok(StatusCode::OK, &call_resource(&record, account)),
                    None => not_found(),
                }
            }
            Some(sid) if !sid.contains('/') && m == http::Method::POST => {
                update(shared, sid, &form()).unwrap_or_else(not_found)
            }
            _ => not_found(),
        },
    }
}

fn is_authorized<B>(shared: &Shared, req: &Request<B>) -> bool {
    let Some(encoded) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    // Twilio's user is the account sid, Exotel's the API key.
    let user = match shared.config.wire {
        Wire::Twilio => &shared.config.account_sid,
        Wire::Exotel => &shared.config.api_key,
    };
    let expected = format!("{user}:{}", shared.config.auth_token);
    decoded.ct_eq(expected.as_bytes()).into()
}

/// `POST Calls.json`: validates, applies the limits, starts the call task.
fn create(shared: &Arc<Shared>, form: &Params) -> Reply {
    let (to, from, plan) = match validate_create(form) {
        Ok(valid) => valid,
        Err(Invalid { code, message }) => return error(StatusCode::BAD_REQUEST, code, &message),
    };
    match start(shared, to, from, plan) {
        Ok(record) => ok(
            StatusCode::CREATED,
            &call_resource(&record, &shared.config.account_sid),
        ),
        Err(Throttled) => error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests"),
    }
}

/// Over the calls-per-second or concurrency limit.
pub(crate) struct Throttled;

/// Applies the limits, registers the call, writes its ledger line and
/// starts its task: the part of an originate both wires share.
pub(crate) fn start(
    shared: &Arc<Shared>,
    to: PhoneNumber,
    from: PhoneNumber,
    plan: CallPlan,
) -> Result<CallRecord, Throttled> {
    let throttled = || {
        debug!(
            active = shared.registry.active(),
            "simulator throttled an originate"
        );
        Throttled
    };
    let mut plan = plan;
    plan.persona = shared.config.persona_for(&to).cloned();
    if let Some(limiter) = &shared.limiter
        && limiter.check().is_err()
    {
        return Err(throttled());
    }
    let Ok(record) = shared
        .registry
        .admit(shared.config.max_concurrent, |index| {
            CallRecord::new(index, to, from)
        })
    else {
        return Err(throttled());
    };
    info!(call.sid = %record.sid, call.to = %record.to, "simulator accepted a call");
    shared.ledger.append(LedgerEntry::Originate {
        call_sid: record.sid.clone(),
        url: match &plan.script {
            Script::Url { url, .. } => url.clone(),
            Script::Inline(_) => String::new(),
        },
        status_callback: plan.status_callback.clone(),
        to_masked: record.to.to_string(),
        at_ms: record.created_ms,
        direction: record.direction,
        machine_detection: plan.machine_detection.map(|m| m.as_str().to_owned()),
    });
    shared
        .tracker
        .spawn(call::run(Arc::clone(shared), record.clone(), plan));
    Ok(record)
}

/// A 400 reply's Twilio error code and message.
#[derive(Debug)]
struct Invalid {
    code: u32,
    message: String,
}

fn invalid(code: u32, message: impl Into<String>) -> Invalid {
    Invalid {
        code,
        message: message.into(),
    }
}

fn validate_create(form: &Params) -> Result<(PhoneNumber, PhoneNumber, CallPlan), Invalid> {
    let to = first(form, "To").ok_or_else(|| invalid(21201, "No 'To' number is specified"))?;
    let to = PhoneNumber::parse(to).map_err(|_| {
        invalid(
            21211,
            format!("The 'To' number {to} is not a valid phone number."),
        )
    })?;
    let from =
        first(form, "From").ok_or_else(|| invalid(21603, "A 'From' phone number is required."))?;
    let from = PhoneNumber::parse(from).map_err(|_| {
        invalid(21212, format!("The 'From' number {from} is not a valid phone number, shortcode, or alphanumeric sender ID."))
    })?;
    let script = match (first(form, "Url"), first(form, "Twiml")) {
        (Some(url), _) if is_http_url(url) => Script::Url {
            url: url.to_owned(),
            method: parse_method(form, "Method")?,
        },
        (Some(url), _) => return Err(invalid(21205, format!("Url is not a valid URL: {url}"))),
        (None, Some(twiml)) => Script::Inline(twiml.to_owned()),
        (None, None) => return Err(invalid(21205, "Url parameter is required.")),
    };
    let status_callback = match first(form, "StatusCallback") {
        Some(url) if is_http_url(url) => Some(url.to_owned()),
        Some(url) => {
            let message = format!("StatusCallback is not a valid URL: {url}");
            return Err(invalid(21609, message));
        }
        None => None,
    };
    if let Some(timeout) = first(form, "Timeout")
        && timeout.trim().parse::<u32>().is_err()
    {
        let message = format!("Timeout must be an integer, not {timeout:?}");
        return Err(invalid(21216, message));
    }
    let events = parse_events(form)
        .map_err(|e| invalid(21626, format!("Invalid StatusCallbackEvent: {e}")))?;
    let machine_detection = match first(form, "MachineDetection") {
        None => None,
        Some(value) => Some(MachineDetection::parse(value).ok_or_else(|| {
            // Best guess: Twilio documents 21263 as "Invalid Answering
            // Machine Detection Parameters".
            invalid(
                21263,
                format!("MachineDetection must be Enable or DetectMessageEnd, not {value:?}"),
            )
        })?),
    };
    let plan = CallPlan {
        script,
        status_callback,
        status_method: parse_method(form, "StatusCallbackMethod")?,
        status_encoding: Encoding::Form,
        events,
        persona: None,
        machine_detection,
    };
    Ok((to, from, plan))
}

fn parse_method(form: &Params, key: &str) -> Result<Method, Invalid> {
    match first(form, key) {
        None => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("POST") => Ok(Method::Post),
        Some(m) if m.eq_ignore_ascii_case("GET") => Ok(Method::Get),
        Some(m) => Err(invalid(
            21207,
            format!("{key} must be GET or POST, not {m:?}"),
        )),
    }
}

/// Reads `StatusCallbackEvent` as repeated keys (what Twilio's SDKs send),
/// the `StatusCallbackEvent[]` form, or space-separated values.
fn parse_events(form: &Params) -> Result<Events, String> {
    let mut events = Events::default();
    let values = form
        .iter()
        .filter(|(k, _)| k == "StatusCallbackEvent" || k == "StatusCallbackEvent[]")
        .flat_map(|(_, v)| v.split([' ', ',']))
        .filter(|v| !v.is_empty());
    for value in values {
        match value {
            "initiated" => events.initiated = true,
            "ringing" => events.ringing = true,
            "answered" => events.answered = true,
            // Sent whenever a StatusCallback is set, asked for or not.
            "completed" => {}
            other => return Err(other.to_owned()),
        }
    }
    Ok(events)
}

/// `POST Calls/{sid}.json`: `Status=completed` hangs up (a call not yet
/// answered is canceled); `Status=canceled` only cancels unanswered calls.
fn update(shared: &Shared, sid: &str, form: &Params) -> Option<Reply> {
    let record = shared.registry.get(sid)?;
    let target = match first(form, "Status") {
        None => None,
        Some("completed") => Some(CallStatus::Completed),
        Some("canceled") => Some(CallStatus::Canceled),
        Some(other) => {
            return Some(error(
                StatusCode::BAD_REQUEST,
                21218,
                &format!("Status must be completed or canceled, not {other:?}"),
            ));
        }
    };
    let answered = record.status == CallStatus::InProgress;
    let ended = match target {
        _ if record.status.is_terminal() => None,
        Some(CallStatus::Completed) if answered => {
            let elapsed = now_ms() - record.start_ms.unwrap_or(record.created_ms);
            Some((
                CallStatus::Completed,
                u64::try_from(elapsed.max(0)).unwrap_or(0).div_ceil(1000),
            ))
        }
        Some(_) if !answered => Some((CallStatus::Canceled, 0)),
        _ => None,
    };
    let record = match ended {
        Some((status, secs)) => {
            let record = shared.registry.finish(sid, status, secs)?;
            info!(call.sid = %sid, call.status = %record.status, "simulator call ended by REST request");
            record.hangup.cancel();
            record
        }
        None => record,
    };
    Some(ok(
        StatusCode::OK,
        &call_resource(&record, &shared.config.account_sid),
    ))
}

pub(crate) fn parse_form(bytes: &[u8]) -> Params {
    form_urlencoded::parse(bytes).into_owned().collect()
}

pub(crate) fn first<'a>(form: &'a Params, key: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) fn ok(status: StatusCode, body: &impl serde::Serialize) -> Reply {
    match serde_json::to_string(body) {
        Ok(text) => json_reply(status, text),
        // The simulator's own bodies always serialize (string keys, no
        // floats); a 500 rather than a panic if one ever does not.
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            &format!("the reply does not serialize: {e}"),
        ),
    }
}

/// Twilio's error body: `{"code", "message", "more_info", "status"}`.
pub(crate) fn error(status: StatusCode, code: u32, message: &str) -> Reply {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    json_reply(status, body.to_string())
}

fn json_reply(status: StatusCode, body: String) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    reply
}
