//! Who may use the admin listener: the configured bearer tokens (each with a
//! name and a role), the `/metrics` token, and the limit on wrong tokens.
//!
//! Owns: the tokens in force (loaded from settings at start, re-read from
//! their files on SIGHUP: [`AdminAccess::reload`]), comparing a given token
//! with them in constant time, and the per-client budget of failed attempts
//! shared by the API's bearer tokens and the console's login form. Does not
//! own: sessions (`console/auth.rs`) nor which routes need which role (the
//! admin router: GET/HEAD reads, anything else writes).
//!
//! | credentials given | open listener (no token) | tokens configured |
//! |---|---|---|
//! | none | operator `open` | refused: 401 |
//! | a configured token | — | its name and role |
//! | a wrong token | — | 401, one failure counted for the client |
//! | anything, after 5 failures in a minute from the client | — | 429 until the oldest is a minute old |
//!
//! Constant time: both sides are hashed with SHA-256 and the digests
//! compared with `subtle`, against every token, so neither the length nor
//! the position of a match shows in the time taken.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::{AdminRole, AdminSettings, TokenSource, TokenSpec, read_secret_file};

/// Failed attempts a client may make per [`FAILURE_WINDOW`]; more are
/// refused (429) until the oldest falls out of the window.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Clients whose failures are remembered at most; beyond this, every new
/// client shares one budget (an attacker with many addresses gains nothing).
const MAX_CLIENTS: usize = 10_000;
/// The caller's name when no token is configured (loopback only).
pub const OPEN_NAME: &str = "open";

/// Who made a request, by the token they gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (`open` on a listener without tokens).
    pub name: String,
    pub role: AdminRole,
}

impl Caller {
    pub fn may_write(&self) -> bool {
        self.role == AdminRole::Operator
    }
}

/// Why a request was not let in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// No token given.
    Missing,
    /// A token that is none of the configured ones.
    Wrong,
    /// Too many wrong tokens from this client lately: retry after this.
    TooMany(Duration),
}

struct Token {
    name: String,
    role: AdminRole,
    digest: [u8; 32],
}

#[derive(Default)]
struct Tokens {
    named: Vec<Token>,
    metrics: Option<[u8; 32]>,
}

/// The admin listener's tokens and failed-attempt record.
pub struct AdminAccess {
    specs: Vec<TokenSpec>,
    metrics_spec: Option<TokenSource>,
    tokens: RwLock<Tokens>,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AdminAccess {
    /// The tokens `settings` name, read now. `Err` names the key and file
    /// that could not be read.
    pub fn from_settings(settings: &AdminSettings) -> Result<AdminAccess, String> {
        let access = AdminAccess {
            specs: settings.token_specs(),
            metrics_spec: settings.metrics_token_source(),
            tokens: RwLock::default(),
            failures: Mutex::default(),
        };
        access.reload()?;
        Ok(access)
    }

    /// A listener without tokens (tests, the demo on loopback).
    pub fn open() -> AdminAccess {
        AdminAccess {
            specs: Vec::new(),
            metrics_spec: None,
            tokens: RwLock::default(),
            failures: Mutex::default(),
        }
    }

    /// Re-reads every token file. All or nothing: on an error the tokens in
    /// force stay, and the error names the key and file. `Ok` is the number
    /// of bearer tokens now in force.
    pub fn reload(&self) -> Result<usize, String> {
        let mut named = Vec::with_capacity(self.specs.len());
        for spec in &self.specs {
            named.push(Token {
                name: spec.name.clone(),
                role: spec.role,
                digest: digest(read(&spec.source, &spec.key)?.as_bytes()),
            });
        }
        let metrics = match &self.metrics_spec {
            Some(source) => Some(digest(read(source, "admin.metrics_token")?.as_bytes())),
            None => None,
        };
        let count = named.len();
        *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = Tokens { named, metrics };
        Ok(count)
    }

    /// Whether no bearer token is configured (anyone reaching the listener
    /// is an operator).
    pub fn is_open(&self) -> bool {
        self.specs.is_empty()
    }

    /// Who the `Authorization: Bearer` header of a request names.
    pub fn bearer(&self, headers: &HeaderMap, client: Option<IpAddr>) -> Result<Caller, Denied> {
        if self.is_open() {
            return Ok(open_caller());
        }
        match bearer_of(headers) {
            Some(given) => self.check(given, client),
            None => Err(Denied::Missing),
        }
    }

    /// Checks a token given by `client` (a bearer header or the console's
    /// login form), counting a wrong one against the client's budget.
    pub fn check(&self, given: &str, client: Option<IpAddr>) -> Result<Caller, Denied> {
        let client = client.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = budget(&mut failures, client, now);
        if times.len() >= MAX_FAILURES {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(Denied::TooMany(
                FAILURE_WINDOW.saturating_sub(now.duration_since(oldest)),
            ));
        }
        match self.find(given) {
            Some(caller) => Ok(caller),
            None => {
                times.push_back(now);
                Err(Denied::Wrong)
            }
        }
    }

    /// The caller a still-configured token name stands for (a console
    /// session keeps the name; a token rotated out ends its sessions).
    pub fn named(&self, name: &str) -> Option<Caller> {
        if self.is_open() {
            return (name == OPEN_NAME).then(open_caller);
        }
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        tokens
            .named
            .iter()
            .find(|t| t.name == name)
            .map(|t| Caller {
                name: t.name.clone(),
                role: t.role,
            })
    }

    /// Whether a request may read `/metrics`: always when no metrics token
    /// is set (as before there was one); else it must carry that token or
    /// any admin token.
    pub fn metrics(&self, headers: &HeaderMap, client: Option<IpAddr>) -> Result<(), Denied> {
        let Some(metrics) = self
            .tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .metrics
        else {
            return Ok(());
        };
        let Some(given) = bearer_of(headers) else {
            return Err(Denied::Missing);
        };
        if bool::from(digest(given.as_bytes()).ct_eq(&metrics)) {
            return Ok(());
        }
        self.check(given, client).map(drop)
    }

    /// The configured token `given` is, compared in constant time with all.
    /// Whether `given` names a configured token, without counting a wrong
    /// one (the server's decision, before the body, on how much of it to
    /// read: the route that follows counts it).
    pub fn knows(&self, given: &str) -> bool {
        self.is_open() || self.find(given).is_some()
    }

    fn find(&self, given: &str) -> Option<Caller> {
        let given = digest(given.as_bytes());
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        let mut found = None;
        for token in &tokens.named {
            if bool::from(token.digest.ct_eq(&given)) && found.is_none() {
                found = Some(Caller {
                    name: token.name.clone(),
                    role: token.role,
                });
            }
        }
        found
    }
}

fn open_caller() -> Caller {
    Caller {
        name: OPEN_NAME.to_owned(),
        role: AdminRole::Operator,
    }
}

/// The client's failure times, pruned of those out of the window.
fn budget(
    failures: &mut HashMap<IpAddr, VecDeque<Instant>>,
    client: IpAddr,
    now: Instant,
) -> &mut VecDeque<Instant> {
    failures.retain(|_, times| {
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= FAILURE_WINDOW)
        {
            times.pop_front();
        }
        !times.is_empty()
    });
    // Too many clients to remember each: the newcomers share one budget.
    let key = if failures.len() >= MAX_CLIENTS && !failures.contains_key(&client) {
        IpAddr::from([0, 0, 0, 0])
    } else {
        client
    };
    failures.entry(key).or_default()
}

fn read(source: &TokenSource, key: &str) -> Result<String, String> {
    match source {
        TokenSource::Inline(secret) => Ok(secret.expose().to_owned()),
        TokenSource::File(path) => read_secret_file(path)
            .map(|s| s.expose().to_owned())
            .map_err(|e| format!("{key}.token_file: {e}")),
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The client's address, as the server saw it (a request extension).
pub fn client_of(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<super::ClientAddr>()
        .map(|super::ClientAddr(addr)| addr.ip())
}

/// The token of an `Authorization: Bearer …` header.
pub fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Re-reads the token files on every SIGHUP until `cancel`: the rotation
/// step that needs no restart (add the new token, reload, move clients,
/// remove the old one, reload).
pub async fn reload_on_sighup(
    access: std::sync::Arc<AdminAccess>,
    cancel: tokio_util::sync::CancellationToken,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(hup) => hup,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; admin tokens are read at start only");
                return;
            }
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = hup.recv() => match access.reload() {
                    Ok(count) => tracing::info!(admin.tokens = count, "Admin tokens re-read."),
                    Err(e) => tracing::error!(error = %e, "Cannot re-read the admin tokens; the previous ones stay in force."),
                },
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (access, cancel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AdminToken, Secret};

    fn settings(dir: &std::path::Path) -> AdminSettings {
        std::fs::write(dir.join("ops"), "ops-token-1\n").unwrap();
        AdminSettings {
            tokens: vec![
                AdminToken {
                    name: "ops-1".into(),
                    role: AdminRole::Operator,
                    token: None,
                    token_file: Some(dir.join("ops")),
                },
                AdminToken {
                    name: "viewer".into(),
                    role: AdminRole::Read,
                    token: Some(Secret::new("view-token")),
                    token_file: None,
                },
            ],
            ..AdminSettings::default()
        }
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn tokens_name_their_caller_and_role() {
        let dir = tempfile::tempdir().unwrap();
        let access = AdminAccess::from_settings(&settings(dir.path())).unwrap();
        let ops = access.bearer(&headers("ops-token-1"), None).unwrap();
        assert_eq!((ops.name.as_str(), ops.may_write()), ("ops-1", true));
        let viewer = access.bearer(&headers("view-token"), None).unwrap();
        assert_eq!(
            (viewer.name.as_str(), viewer.may_write()),
            ("viewer", false)
        );
        assert_eq!(access.bearer(&HeaderMap::new(), None), Err(Denied::Missing));
        assert_eq!(
            access.bearer(&headers("ops-token"), None),
            Err(Denied::Wrong)
        );
    }

    #[test]
    fn a_reload_rereads_files_and_keeps_the_old_tokens_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let access = AdminAccess::from_settings(&settings(dir.path())).unwrap();
        std::fs::write(dir.path().join("ops"), "ops-token-2").unwrap();
        assert_eq!(access.reload(), Ok(2));
        assert_eq!(access.check("ops-token-1", None), Err(Denied::Wrong));
        assert_eq!(access.check("ops-token-2", None).unwrap().name, "ops-1");
        std::fs::remove_file(dir.path().join("ops")).unwrap();
        let err = access.reload().unwrap_err();
        assert!(
            err.starts_with("admin.tokens[0].token_file: cannot read"),
            "{err}"
        );
        assert!(!err.contains("ops-token"), "{err}");
        assert_eq!(access.check("ops-token-2", None).unwrap().name, "ops-1");
    }

    #[test]
    fn wrong_tokens_are_limited_per_client() {
        let access = AdminAccess::from_settings(&AdminSettings {
            token: Some(Secret::new("t0k")),
            ..AdminSettings::default()
        })
        .unwrap();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..MAX_FAILURES {
            assert_eq!(access.check("guess", a), Err(Denied::Wrong));
        }
        assert!(matches!(access.check("t0k", a), Err(Denied::TooMany(_))));
        assert_eq!(access.check("t0k", b).unwrap().name, "admin");
    }

    #[test]
    fn metrics_are_open_unless_a_metrics_token_is_set() {
        let open = AdminAccess::from_settings(&AdminSettings {
            token: Some(Secret::new("t0k")),
            ..AdminSettings::default()
        })
        .unwrap();
        assert_eq!(open.metrics(&HeaderMap::new(), None), Ok(()));
        let guarded = AdminAccess::from_settings(&AdminSettings {
            token: Some(Secret::new("t0k")),
            metrics_token: Some(Secret::new("scrape")),
            ..AdminSettings::default()
        })
        .unwrap();
        assert_eq!(
            guarded.metrics(&HeaderMap::new(), None),
            Err(Denied::Missing)
        );
        assert_eq!(guarded.metrics(&headers("scrape"), None), Ok(()));
        assert_eq!(guarded.metrics(&headers("t0k"), None), Ok(()));
        assert_eq!(guarded.metrics(&headers("nope"), None), Err(Denied::Wrong));
    }
}
