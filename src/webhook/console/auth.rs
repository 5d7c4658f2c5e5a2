//! Who may see the console: an admin token (`webhook::AdminAccess`), given
//! once at `/login` for a session cookie, or on every request as
//! `Authorization: Bearer`.
//!
//! Owns: sessions (server-side, random opaque ids, 12 h), their CSRF tokens
//! and the cookie's attributes. Does not own: the tokens, their roles or the
//! limit on wrong tokens (`access.rs`, shared with the admin API), nor what
//! a page shows.
//!
//! | request carries                         | access    | a POST form needs |
//! |-----------------------------------------|-----------|-------------------|
//! | no token configured                     | `Open`    | the process's CSRF token |
//! | `Authorization: Bearer <token>`         | `Bearer`  | nothing (a script, not a browser form) |
//! | a `sampark_session` cookie, live, its token still configured | `Session` | the session's CSRF token |
//! | a wrong bearer token                    | refused (401; 429 after too many) | — |
//! | nothing valid                           | refused: a page redirects to `/login` | — |
//!
//! The cookie never holds the token: it names a session kept in memory,
//! which remembers the token's name, so a restart logs everyone out and a
//! token removed from the configuration (and SIGHUP) ends its sessions. A
//! browser sends the cookie only to same-site requests (`SameSite=Strict`)
//! and no script can read it (`HttpOnly`); `Secure` keeps it off plain HTTP
//! except on loopback, which browsers count as a secure context.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::webhook::access::{AdminAccess, Caller, Denied, OPEN_NAME, bearer_of, client_of};

/// The session cookie's name.
pub const COOKIE: &str = "sampark_session";
/// How long a session lasts from its login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest goes first beyond this.
const MAX_SESSIONS: usize = 10_000;

/// How a request was let in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// No admin token is configured: anyone who reaches the listener.
    Open { csrf: String },
    /// An admin token in the `Authorization` header.
    Bearer { caller: Caller },
    /// A live session cookie.
    Session {
        id: String,
        csrf: String,
        caller: Caller,
    },
}

impl Access {
    /// The CSRF token forms carry (`""` for bearer requests, which need none).
    pub fn csrf(&self) -> &str {
        match self {
            Access::Open { csrf } | Access::Session { csrf, .. } => csrf,
            Access::Bearer { .. } => "",
        }
    }

    /// Whether a form posted with `given` as its CSRF token is accepted.
    pub fn accepts_form(&self, given: &str) -> bool {
        match self {
            Access::Bearer { .. } => true,
            Access::Open { csrf } | Access::Session { csrf, .. } => {
                !csrf.is_empty() && bool::from(given.as_bytes().ct_eq(csrf.as_bytes()))
            }
        }
    }

    /// Who is asking (`open` on a console without tokens).
    pub fn caller(&self) -> Caller {
        match self {
            Access::Open { .. } => Caller {
                name: OPEN_NAME.to_owned(),
                role: crate::config::AdminRole::Operator,
            },
            Access::Bearer { caller } | Access::Session { caller, .. } => caller.clone(),
        }
    }
}

/// Why a request was not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// No credentials (or an expired session): log in.
    NoSession,
    /// A bearer token that is not an admin token.
    WrongToken,
    /// Too many wrong tokens from this client lately: wait this long.
    TooMany(Duration),
}

/// What a login attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Login {
    /// The token was right: the new session's id (the cookie's value) and
    /// who logged in.
    Started(String, Caller),
    Wrong,
    /// Too many failures from this client lately: try again after this.
    TooMany(Duration),
}

struct Session {
    csrf: String,
    /// The token's name: its role is looked up on each request.
    name: String,
    expires: Instant,
}

/// The console's sessions.
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    /// The CSRF token of the open console (no admin token configured).
    open_csrf: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            sessions: Mutex::new(HashMap::new()),
            open_csrf: random_id(),
        }
    }
}

impl Sessions {
    /// Decides how a request with `headers`, from `client`, is let in,
    /// given the configured tokens (from the head alone: no body needed).
    pub fn access(
        &self,
        tokens: &AdminAccess,
        headers: &HeaderMap,
        client: Option<IpAddr>,
    ) -> Result<Access, Refused> {
        if tokens.is_open() {
            return Ok(Access::Open {
                csrf: self.open_csrf.clone(),
            });
        }
        if let Some(given) = bearer_of(headers) {
            return match tokens.check(given, client) {
                Ok(caller) => Ok(Access::Bearer { caller }),
                Err(Denied::TooMany(wait)) => Err(Refused::TooMany(wait)),
                Err(_) => Err(Refused::WrongToken),
            };
        }
        let Some(id) = cookie(headers, COOKIE) else {
            return Err(Refused::NoSession);
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let live = sessions
            .get(id)
            .filter(|s| s.expires > Instant::now())
            .and_then(|s| Some((s.csrf.clone(), tokens.named(&s.name)?)));
        match live {
            Some((csrf, caller)) => Ok(Access::Session {
                id: id.to_owned(),
                csrf,
                caller,
            }),
            None => {
                // Expired, or its token is no longer configured.
                sessions.remove(id);
                Err(Refused::NoSession)
            }
        }
    }

    /// Checks a token typed into the login form by `client`.
    pub fn login(&self, tokens: &AdminAccess, given: &str, client: Option<IpAddr>) -> Login {
        let caller = match tokens.check(given, client) {
            Ok(caller) => caller,
            Err(Denied::TooMany(wait)) => return Login::TooMany(wait),
            Err(_) => return Login::Wrong,
        };
        let now = Instant::now();
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
                name: caller.name.clone(),
                expires: now + SESSION_TTL,
            },
        );
        Login::Started(id, caller)
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
    client_of(request.extensions())
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
    use crate::config::{AdminSettings, Secret};

    fn request(headers: &[(&str, &str)]) -> HeaderMap {
        let mut b = Request::builder().uri("/");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::new()).unwrap().headers().clone()
    }

    fn tokens() -> AdminAccess {
        AdminAccess::from_settings(&AdminSettings {
            token: Some(Secret::new("t0k")),
            ..AdminSettings::default()
        })
        .unwrap()
    }

    #[test]
    fn a_login_starts_a_session_the_cookie_names() {
        let s = Sessions::default();
        let t = tokens();
        assert_eq!(s.access(&t, &request(&[]), None), Err(Refused::NoSession));
        let Login::Started(id, caller) = s.login(&t, "t0k", None) else {
            panic!("the right token starts a session");
        };
        assert_eq!(caller.name, "admin");
        assert!(!id.contains("t0k") && id.len() == 43);
        let cookie = format!("other=1; {COOKIE}={id}");
        let access = s.access(&t, &request(&[("cookie", &cookie)]), None);
        let Ok(Access::Session { csrf, caller, .. }) = &access else {
            panic!("{access:?}");
        };
        assert_eq!(caller.name, "admin");
        assert!(access.as_ref().unwrap().accepts_form(csrf));
        assert!(!access.as_ref().unwrap().accepts_form(""));
        assert!(!access.as_ref().unwrap().accepts_form("nope"));
        s.end(&id);
        assert_eq!(
            s.access(&t, &request(&[("cookie", &cookie)]), None),
            Err(Refused::NoSession)
        );
    }

    #[test]
    fn a_session_ends_with_its_token() {
        let s = Sessions::default();
        let Login::Started(id, _) = s.login(&tokens(), "t0k", None) else {
            panic!("the right token starts a session");
        };
        let cookie = format!("{COOKIE}={id}");
        let other = AdminAccess::from_settings(&AdminSettings {
            token: None,
            tokens: vec![crate::config::AdminToken {
                name: "ops-2".into(),
                role: crate::config::AdminRole::Operator,
                token: Some(Secret::new("t1k")),
                token_file: None,
            }],
            ..AdminSettings::default()
        })
        .unwrap();
        assert_eq!(
            s.access(&other, &request(&[("cookie", &cookie)]), None),
            Err(Refused::NoSession)
        );
    }

    #[test]
    fn bearer_tokens_and_the_open_console() {
        let s = Sessions::default();
        let t = tokens();
        let right = request(&[("authorization", "Bearer t0k")]);
        let wrong = request(&[("authorization", "Bearer nope")]);
        assert!(matches!(
            s.access(&t, &right, None),
            Ok(Access::Bearer { .. })
        ));
        assert_eq!(s.access(&t, &wrong, None), Err(Refused::WrongToken));
        let open = s.access(&AdminAccess::open(), &request(&[]), None).unwrap();
        assert!(matches!(open, Access::Open { .. }));
        assert!(open.accepts_form(open.csrf()));
        assert!(!open.accepts_form("x"));
    }

    #[test]
    fn failed_logins_are_limited_per_client() {
        let s = Sessions::default();
        let t = tokens();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..crate::webhook::access::MAX_FAILURES {
            assert_eq!(s.login(&t, "guess", a), Login::Wrong);
        }
        assert!(matches!(s.login(&t, "t0k", a), Login::TooMany(_)));
        assert!(matches!(s.login(&t, "t0k", b), Login::Started(..)));
    }

    #[test]
    fn the_cookie_is_secure_http_only_and_strict() {
        let c = session_cookie("abc");
        for part in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
    }
}
