//! Exotel's wire format: the v1 Calls API under `/v1/Accounts/{sid}/`
//! (`Calls/connect`, call details, bulk call details), `{"Call": {...}}`
//! resources, `RestException` errors, and the parameters Exotel sends on
//! webhooks and status callbacks.
//!
//! Owns: Exotel's routes, validation, bodies and parameter names. Does not
//! own: auth (`api`), the limits and the call's start (`api::start`), what
//! a call does (`call`). Sources: `docs/simulator.md` names the Exotel
//! pages each shape follows.

use std::sync::Arc;

use http::StatusCode;
use serde_json::{Value, json};

use super::api::{Params, Reply, Throttled, first, ok, parse_form, start};
use super::client::{Encoding, is_http_url};
use super::direction::Direction;
use super::plan::{CallPlan, Events, Script};
use super::registry::CallRecord;
use super::server::Shared;
use super::twiml::Method;
use super::wire::exotel_number;
use crate::domain::{CallStatus, PhoneNumber};
use crate::provider::exotel::{format_local, parse_local_ms};

const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 100;

/// Exotel's error body: `{"RestException": {"Status", "Code", "Message"}}`.
pub(crate) fn error(status: StatusCode, message: &str) -> Reply {
    let code = status.as_u16();
    let mut reply = ok(
        status,
        &json!({"RestException": {"Status": code, "Code": code, "Message": message}}),
    );
    *reply.status_mut() = status;
    reply
}

/// Serves one authenticated REST request.
pub(crate) fn route(
    shared: &Arc<Shared>,
    method: &http::Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Reply {
    let not_found = || error(StatusCode::NOT_FOUND, &format!("{path} was not found"));
    let Some(rest) = path.strip_prefix("/v1/Accounts/") else {
        return not_found();
    };
    let Some((account, path_rest)) = rest.split_once('/') else {
        return not_found();
    };
    if account != shared.config.account_sid {
        return not_found();
    }
    match (method, path_rest) {
        (&http::Method::POST, "Calls/connect.json") => connect(shared, &parse_form(body)),
        (&http::Method::GET, "Calls.json") => bulk(shared, &parse_form(query.as_bytes())),
        (&http::Method::GET, call) => match call
            .strip_prefix("Calls/")
            .and_then(|c| c.strip_suffix(".json"))
            .filter(|sid| !sid.contains('/'))
            .and_then(|sid| shared.registry.get(sid))
        {
            Some(record) => ok(StatusCode::OK, &json!({"Call": resource(&record, account)})),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// A number Exotel accepts: E.164, or the Indian forms (`0XXXXXXXXXX`).
fn number(raw: &str) -> Option<PhoneNumber> {
    PhoneNumber::from_indian_input(raw).ok()
}

/// `POST Calls/connect.json`: connect `From` to the ExoML at `Url`.
fn connect(shared: &Arc<Shared>, form: &Params) -> Reply {
    let bad = |message: String| error(StatusCode::BAD_REQUEST, &message);
    let Some(to) = first(form, "From").and_then(number) else {
        return bad("From is missing or not a valid phone number".into());
    };
    let Some(caller_id) = first(form, "CallerId").and_then(number) else {
        return bad("CallerId is missing or not a valid ExoPhone".into());
    };
    let url = match first(form, "Url") {
        Some(url) if is_http_url(url) => url.to_owned(),
        _ => return bad("Url must be an absolute http(s) URL".into()),
    };
    if first(form, "To").is_some() {
        return bad("connecting two numbers is not simulated; give Url, not To".into());
    }
    if let Some(kind) = first(form, "CallType")
        && !matches!(kind, "trans" | "promo")
    {
        return bad(format!("CallType must be trans or promo, not {kind:?}"));
    }
    for key in ["TimeOut", "TimeLimit"] {
        if let Some(v) = first(form, key)
            && v.trim().parse::<u32>().is_err()
        {
            return bad(format!("{key} must be an integer, not {v:?}"));
        }
    }
    let status_callback = match first(form, "StatusCallback") {
        Some(url) if is_http_url(url) => Some(url.to_owned()),
        Some(_) => return bad("StatusCallback must be an absolute http(s) URL".into()),
        None => None,
    };
    let status_encoding = match first(form, "StatusCallbackContentType") {
        None | Some("multipart/form-data" | "application/x-www-form-urlencoded") => Encoding::Form,
        Some("application/json") => Encoding::Json,
        Some(other) => {
            return bad(format!(
                "StatusCallbackContentType {other:?} is not supported"
            ));
        }
    };
    let mut events = Events::default();
    for (key, value) in form {
        if key.starts_with("StatusCallbackEvents") {
            match value.as_str() {
                "answered" => events.answered = true,
                "terminal" => {}
                other => {
                    return bad(format!(
                        "StatusCallbackEvents {other:?} is not terminal or answered"
                    ));
                }
            }
        }
    }
    let plan = CallPlan {
        script: Script::Url {
            url,
            method: Method::Post,
        },
        status_callback,
        status_method: Method::Post,
        status_encoding,
        events,
        persona: None,
        // Exotel's connect API has no answering-machine detection.
        machine_detection: None,
    };
    match start(shared, to, caller_id, plan) {
        Ok(record) => ok(
            StatusCode::OK,
            &json!({"Call": resource(&record, &shared.config.account_sid)}),
        ),
        Err(Throttled) => error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests"),
    }
}

/// `GET Calls.json`: bulk call details filtered by `From`, `To` (comma
/// separated), `Status` and `DateCreated` (`gte:…;lte:…`, local time),
/// newest first, paged with `PageSize` and `Page`.
fn bulk(shared: &Shared, query: &Params) -> Reply {
    let bad = |message: String| error(StatusCode::BAD_REQUEST, &message);
    let numbers = |key: &str| -> Option<Vec<PhoneNumber>> {
        first(query, key).map(|v| v.split(',').filter_map(|n| number(n.trim())).collect())
    };
    let (from, to) = (numbers("From"), numbers("To"));
    let mut since = None;
    let mut until = None;
    if let Some(range) = first(query, "DateCreated") {
        for part in range.split(';') {
            let parsed = |v: &str| {
                parse_local_ms(v)
                    .ok_or_else(|| format!("DateCreated {v:?} is not YYYY-MM-DD HH:mm:ss"))
            };
            match part.split_once(':') {
                Some(("gte", v)) => match parsed(v) {
                    Ok(ms) => since = Some(ms),
                    Err(m) => return bad(m),
                },
                Some(("lte", v)) => match parsed(v) {
                    Ok(ms) => until = Some(ms + 999),
                    Err(m) => return bad(m),
                },
                _ => return bad(format!("DateCreated filter {part:?} is not gte:… or lte:…")),
            }
        }
    }
    let page_size = match first(query, "PageSize").map(str::parse::<usize>) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => return bad(format!("PageSize must be 1 to {MAX_PAGE_SIZE}")),
    };
    let Ok(page) = first(query, "Page").map_or(Ok(0), str::parse::<usize>) else {
        return bad("Page must be a number".into());
    };
    let status = first(query, "Status");
    let keep = |c: &CallRecord| {
        let (citizen, exophone) = parties(c);
        from.as_ref().is_none_or(|f| f.contains(citizen))
            && to.as_ref().is_none_or(|t| t.contains(exophone))
            && status.is_none_or(|s| c.status.as_str() == s)
            && since.is_none_or(|s| c.created_ms >= s)
            && until.is_none_or(|u| c.created_ms <= u)
    };
    let all = shared.registry.list(keep);
    let account = &shared.config.account_sid;
    let first_index = page.saturating_mul(page_size);
    let calls: Vec<Value> = all
        .iter()
        .skip(first_index)
        .take(page_size)
        .map(|c| resource(c, account))
        .collect();
    let base = format!("/v1/Accounts/{account}/Calls.json");
    let mut kept: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k != "Page" && k != "PageSize")
        .cloned()
        .collect();
    kept.push(("PageSize".into(), page_size.to_string()));
    let page_uri = |p: usize| {
        let mut pairs = kept.clone();
        pairs.push(("Page".into(), p.to_string()));
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        format!("{base}?{q}")
    };
    let has_next = first_index + calls.len() < all.len();
    ok(
        StatusCode::OK,
        &json!({
            "Metadata": {
                "Total": all.len(),
                "PageSize": page_size,
                "FirstPageUri": page_uri(0),
                "PrevPageUri": (page > 0).then(|| page_uri(page - 1)),
                "NextPageUri": has_next.then(|| page_uri(page + 1)),
            },
            "Calls": calls,
        }),
    )
}

/// (the citizen, the ExoPhone) of a call, whichever way it went.
fn parties(call: &CallRecord) -> (&PhoneNumber, &PhoneNumber) {
    match call.direction {
        Direction::Outbound => (&call.to, &call.from),
        Direction::Inbound => (&call.from, &call.to),
    }
}

fn local(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| Value::String(format_local(ms)))
}

/// The call as Exotel's call resource (the inside of `{"Call": …}`).
fn resource(call: &CallRecord, account_sid: &str) -> Value {
    let (citizen, exophone) = parties(call);
    json!({
        "Sid": call.sid,
        "ParentCallSid": null,
        "DateCreated": format_local(call.created_ms),
        "DateUpdated": format_local(call.updated_ms),
        "AccountSid": account_sid,
        "To": exotel_number(exophone),
        "From": exotel_number(citizen),
        "PhoneNumberSid": exotel_number(exophone),
        "Status": call.status.as_str(),
        "StartTime": local(call.start_ms),
        "EndTime": local(call.end_ms),
        "Duration": call.duration_secs,
        "Price": null,
        "Direction": match call.direction {
            Direction::Outbound => "outbound-api",
            Direction::Inbound => "inbound",
        },
        "AnsweredBy": null,
        "ForwardedFrom": null,
        "CallerName": null,
        "Uri": format!("/v1/Accounts/{account_sid}/Calls/{}.json", call.sid),
        "RecordingUrl": null,
    })
}

/// What Exotel sends with every request for ExoML about a call (the
/// answer URL, gather actions, redirects).
pub(crate) fn call_params(call: &CallRecord, status: CallStatus) -> Vec<(String, String)> {
    let (citizen, exophone) = parties(call);
    let direction = match call.direction {
        Direction::Outbound => "outbound-api",
        Direction::Inbound => "incoming",
    };
    vec![
        ("CallSid".into(), call.sid.clone()),
        ("CallFrom".into(), exotel_number(citizen)),
        ("CallTo".into(), exotel_number(exophone)),
        ("Direction".into(), direction.into()),
        ("Created".into(), format_local(call.created_ms)),
        ("CallStatus".into(), status.as_str().into()),
        ("From".into(), exotel_number(citizen)),
        ("To".into(), exotel_number(exophone)),
    ]
}

/// A status callback: `terminal` (with the call's final `Status`) or
/// `answered` (`Status=in-progress`).
pub(crate) fn status_params(
    call: &CallRecord,
    status: CallStatus,
    duration: Option<u64>,
) -> Vec<(String, String)> {
    let (citizen, exophone) = parties(call);
    let event = if status.is_terminal() {
        "terminal"
    } else {
        "answered"
    };
    let mut params = vec![
        ("CallSid".into(), call.sid.clone()),
        ("EventType".into(), event.into()),
        ("Status".into(), status.as_str().into()),
        ("DateCreated".into(), format_local(call.created_ms)),
        ("DateUpdated".into(), format_local(call.updated_ms)),
        ("To".into(), exotel_number(exophone)),
        ("From".into(), exotel_number(citizen)),
        ("PhoneNumberSid".into(), exotel_number(exophone)),
    ];
    if let Some(start) = call.start_ms {
        params.push(("StartTime".into(), format_local(start)));
    }
    if let Some(end) = call.end_ms {
        params.push(("EndTime".into(), format_local(end)));
    }
    if let Some(secs) = duration {
        params.push(("ConversationDuration".into(), secs.to_string()));
    }
    params
}
