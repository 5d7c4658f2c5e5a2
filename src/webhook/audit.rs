//! The audit log: one event per admin write (API or console), on the
//! dedicated tracing target `sampark::audit`, so it can be filtered and
//! shipped on its own (`log.level = "info,sampark::audit=info"`).
//!
//! | field | holds |
//! |---|---|
//! | `audit.who` | the token's name (a console session's token), `open` on a listener without tokens, `-` when no token was valid |
//! | `audit.role` | `read`, `operator` or `-` |
//! | `audit.action` | method and path, ids included, any number in it masked |
//! | `client.ip` | the peer address the server saw |
//! | `audit.outcome` | the HTTP status, and `ok` / `refused` / `failed` |
//!
//! When: the event's own timestamp. Never a token, a form or a body: a body
//! may hold a citizen's number, and the path's digit runs are masked too.
//!
//! Owns: the event's shape. Does not own: deciding what is a write (the
//! admin router: every method other than GET and HEAD).

use std::net::IpAddr;

use http::StatusCode;

use super::access::Caller;
use crate::domain::mask_digit_runs;

/// The tracing target of audit events.
pub const TARGET: &str = "sampark::audit";

/// Records one admin write: `who` did `method path` from `client`, with
/// the response's `status`.
pub fn record(
    who: Option<&Caller>,
    method: &http::Method,
    path: &str,
    client: Option<IpAddr>,
    status: StatusCode,
) {
    let outcome = if status.is_success() || status.is_redirection() {
        "ok"
    } else if status.is_client_error() {
        "refused"
    } else {
        "failed"
    };
    let action = format!("{method} {}", mask_digit_runs(path));
    let client = client.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let who_name = who.map_or("-", |c| c.name.as_str());
    let role = who.map_or("-", |c| c.role.as_str());
    tracing::info!(
        target: TARGET,
        { audit.who = who_name, audit.role = role, audit.action = %action, client.ip = %client, audit.status = status.as_u16(), audit.outcome = outcome },
        "Admin write."
    );
}

/// Whether a request with `method` changes anything (needs an operator and
/// is audited).
pub fn is_write(method: &http::Method) -> bool {
    !matches!(*method, http::Method::GET | http::Method::HEAD)
}
