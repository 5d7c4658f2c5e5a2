//! Who may see the console: the admin token, given once at `/login` for a
//! session cookie, or on every request as `Authorization: Bearer`.
//!
//! Owns: sessions (server-side, random opaque ids, 12 h), their CSRF tokens,
//! the cookie's attributes, and the limit on failed logins. Does not own:
//! the token itself (`admin.token`) or what a page shows.
//!
//! | request carries                         | access    | a POST form needs |
//! |-----------------------------------------|-----------|-------------------|
//! | no token configured                     | `Open`    | the process's CSRF token |
//! | `Authorization: Bearer <token>`         | `Bearer`  | nothing (a script, not a browser form) |
//! | a `sampark_session` cookie, live        | `Session` | the session's CSRF token |
//! | a wrong bearer token                    | refused (401) | — |
//! | nothing valid                           | refused: a page redirects to `/login` | — |
//!
//! The cookie never holds the token: it names a session kept in memory, so
//! a restart logs everyone out (the token logs them in again). A browser
//! sends the cookie only to same-site requests (`SameSite=Strict`) and no
//! script can read it (`HttpOnly`); `Secure` keeps it off plain HTTP except
//! on loopback, which browsers count as a secure context.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::webhook::ClientAddr;

/// The session cookie's name.
pub const COOKIE: &str = "sampark_session";
/// How long a session lasts from its login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Failed logins a client may make per [`FAILURE_WINDOW`]; more are refused
/// (429) until the oldest falls out of the window.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Sessions kept at most; the oldest goes first beyond this.
const MAX_SESSIONS: usize = 10_000;
/// Clients whose failures are remembered at most; beyond this, every client
/// shares one budget (an attacker with many addresses gains nothing).
const MAX_CLIENTS: usize = 10_000;

/// How a request was let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// No admin token is configured: anyone who reaches the listener.
    Open { csrf: String },
    /// The admin token in the `Authorization` header.
    Bearer,
    /// A live session cookie.
    Session { id: String, csrf: String },
}

impl Access {
    /// The CSRF token forms carry (`""` for bearer requests, which need none).
    pub fn csrf(&self) -> &str {
        match self {
            Access::Open { csrf } | Access::Session { csrf, .. } => csrf,
            Access::Bearer => "",
        }
    }

    /// Whether a form posted with `given` as its CSRF token is accepted.
    pub fn accepts_form(&self, given: &str) -> bool {
        match self {
            Access::Bearer => true,
            Access::Open { csrf } | Access::Session { csrf, .. } => {
                !csrf.is_empty() && bool::from(given.as_bytes().ct_eq(csrf.as_bytes()))
            }
        }
    }
}

/// Why a request was not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No credentials (or an expired session): log in.
    NoSession,
    /// A bearer token that is not the admin token.
    WrongToken,
}

/// What a login attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// The token was right: the new session's id (the cookie's value).
    Started(String),
    Wrong,
    /// Too many failures from this client lately: try again after this.
    TooMany(Duration),
}

struct Session {
    csrf: String,
    expires: Instant,
}

/// The console's sessions and failed-login record.
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
    /// The CSRF token of the open console (no admin token configured).
    open_csrf: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            sessions: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            open_csrf: random_id(),
        }
    }
}

impl Sessions {
    /// Decides how a request with `headers` is let in, given the configured
    /// `token` (from the head alone, before its body is read).
    pub fn access(&self, token: Option<&str>, headers: &HeaderMap) -> Result<Access, Refused> {
        let Some(token) = token else {
            return Ok(Access::Open {
                csrf: self.open_csrf.clone(),
            });
        };
        if let Some(given) = bearer(headers) {
            return if same(given, token) {
                Ok(Access::Bearer)
            } else {
                Err(Refused::WrongToken)
            };
        }
        let Some(id) = cookie(headers, COOKIE) else {
            return Err(Refused::NoSession);
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        match sessions.get(id) {
            Some(s) if s.expires > Instant::now() => Ok(Access::Session {
                id: id.to_owned(),
                csrf: s.csrf.clone(),
            }),
            Some(_) => {
                sessions.remove(id);
                Err(Refused::NoSession)
            }
            None => Err(Refused::NoSession),
        }
    }

    /// Checks a token typed into the login form.
    pub fn login(&self, token: &str, given: &str, client: Option<IpAddr>) -> Login {
        let now = Instant::now();
        let client = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.retain(|_, times| {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
            {
                times.pop_front();
            }
            !times.is_empty()
        });
        // Too many clients to remember each: they share the budget.
        let key = if failures.len() >= MAX_CLIENTS && !failures.contains_key(&client) {
            IpAddr::from([0, 0, 0, 0])
        } else {
            client
        };
        let times = failures.entry(key).or_default();
        if times.len() >= MAX_FAILURES {
            let oldest = times.front().copied().unwrap_or(now);
            return Login::TooMany(FAILURE_WINDOW.saturating_sub(now.duration_since(oldest)));
        }
        if !same(given, token) {
            times.push_back(now);
            return Login::Wrong;
        }
        drop(failures);
        let id = random_id();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                csrf: random_id(),
                expires: now + SESSION_TTL,
            },
        );
        Login::Started(id)
    }

    /// Ends a session (logout).
    pub fn end(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that ends one.
pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// The client's address, as the server saw it.
pub fn client_ip(request: &Request<Bytes>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ClientAddr>()
        .map(|ClientAddr(addr)| addr.ip())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn same(given: &str, token: &str) -> bool {
    given.as_bytes().ct_eq(token.as_bytes()).into()
}

/// 32 random bytes from the thread's CSPRNG, URL-safe base64 (43
/// characters; unlike hex, never a long run of digits that a page scan
/// could take for a phone number).
fn random_id() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> HeaderMap {
        let mut b = Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::new()).unwrap().headers().clone()
    }

    #[test]
    fn a_login_starts_a_session_the_cookie_names() {
        let s = Sessions::default();
        assert_eq!(
            s.access(Some("t0k"), &request(&[])),
            Err(Refused::NoSession)
        );
        let Login::Started(id) = s.login("t0k", "t0k", None) else {
            panic!("the right token starts a session");
        };
        assert!(!id.contains("t0k") && id.len() == 43);
        let cookie = format!("other=1; {COOKIE}={id}");
        let access = s.access(Some("t0k"), &request(&[("cookie", &cookie)]));
        let Ok(Access::Session { csrf, .. }) = &access else {
            panic!("{access:?}");
        };
        assert!(access.as_ref().unwrap().accepts_form(csrf));
        assert!(!access.as_ref().unwrap().accepts_form(""));
        assert!(!access.as_ref().unwrap().accepts_form("nope"));
        s.end(&id);
        assert_eq!(
            s.access(Some("t0k"), &request(&[("cookie", &cookie)])),
            Err(Refused::NoSession)
        );
    }

    #[test]
    fn bearer_tokens_and_the_open_console() {
        let s = Sessions::default();
        let right = request(&[("authorization", "Bearer t0k")]);
        let wrong = request(&[("authorization", "Bearer nope")]);
        assert_eq!(s.access(Some("t0k"), &right), Ok(Access::Bearer));
        assert_eq!(s.access(Some("t0k"), &wrong), Err(Refused::WrongToken));
        let open = s.access(None, &request(&[])).unwrap();
        assert!(matches!(open, Access::Open { .. }));
        assert!(open.accepts_form(open.csrf()));
        assert!(!open.accepts_form("x"));
    }

    #[test]
    fn failed_logins_are_limited_per_client() {
        let s = Sessions::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..MAX_FAILURES {
            assert_eq!(s.login("t0k", "guess", a), Login::Wrong);
        }
        assert!(matches!(s.login("t0k", "t0k", a), Login::TooMany(_)));
        assert!(matches!(s.login("t0k", "t0k", b), Login::Started(_)));
    }

    #[test]
    fn the_cookie_is_secure_http_only_and_strict() {
        let c = session_cookie("abc");
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
    }
}
