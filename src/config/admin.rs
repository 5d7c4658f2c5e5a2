//! `[admin]`'s access keys: named bearer tokens with a role
//! (`[[admin.tokens]]`), the older single `admin.token`, and the optional
//! `/metrics` token, each given inline (environment) or as a `*_file`.
//!
//! Owns: their schema and the checks that need no I/O (names, one source
//! per token, a token whenever the listener is not on loopback). Does not
//! own: reading the token files (`secret_file.rs` at load, and the admin
//! listener's `webhook::AdminAccess` at start and on SIGHUP) nor checking
//! a request's token.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::secret::Secret;
use super::sections::AdminSettings;

/// What a token lets its holder do on the admin listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Read: every GET (console pages, the API's reads, reports, metrics).
    Read,
    /// Read, and every write: submissions, campaign control, the DNC list,
    /// the officials' registry, escalation acknowledgements, erasure.
    Operator,
}

impl AdminRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminRole::Read => "read",
            AdminRole::Operator => "operator",
        }
    }
}

/// One `[[admin.tokens]]` entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// Who holds it: shown in the audit log, never the token itself.
    pub name: String,
    pub role: AdminRole,
    /// The token inline (prefer `token_file`: the configuration file is no
    /// place for a secret).
    #[serde(default)]
    pub token: Option<Secret>,
    /// A file holding the token (re-read on SIGHUP).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

/// The name `admin.token` / `admin.token_file` goes by in the audit log.
pub const LEGACY_TOKEN_NAME: &str = "admin";

/// Where a token comes from: inline, or a file read at start and on SIGHUP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Inline(Secret),
    File(PathBuf),
}

/// A configured token, as the admin listener loads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSpec {
    pub name: String,
    pub role: AdminRole,
    /// The key it is configured under, for errors.
    pub key: String,
    pub source: TokenSource,
}

impl AdminSettings {
    /// Every bearer token configured, `admin.token` (or `admin.token_file`)
    /// first as an operator token named `admin`. Validation guarantees one
    /// source per token; an entry with none is skipped.
    pub fn token_specs(&self) -> Vec<TokenSpec> {
        let legacy = source(&self.token, &self.token_file).map(|source| TokenSpec {
            name: LEGACY_TOKEN_NAME.to_owned(),
            role: AdminRole::Operator,
            key: "admin.token".to_owned(),
            source,
        });
        let named = self.tokens.iter().enumerate().filter_map(|(i, t)| {
            Some(TokenSpec {
                name: t.name.clone(),
                role: t.role,
                key: format!("admin.tokens[{i}]"),
                source: source(&t.token, &t.token_file)?,
            })
        });
        legacy.into_iter().chain(named).collect()
    }

    /// Where the `/metrics` token comes from, if `/metrics` has one.
    pub fn metrics_token_source(&self) -> Option<TokenSource> {
        source(&self.metrics_token, &self.metrics_token_file)
    }

    /// Whether any bearer token is configured (else the listener is open).
    pub fn has_tokens(&self) -> bool {
        self.token.is_some() || self.token_file.is_some() || !self.tokens.is_empty()
    }

    /// The `(key, reason)` problems of the access keys.
    pub(super) fn access_problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let loopback = self
            .listen
            .parse::<SocketAddr>()
            .map(|a| a.ip().is_loopback());
        if loopback == Ok(false) && !self.has_tokens() {
            p.push((
                "admin.listen".to_owned(),
                format!(
                    "{} is not a loopback address, and no admin token is set: anyone who reaches it could submit and stop campaigns; set [[admin.tokens]] (or admin.token), or listen on 127.0.0.1",
                    self.listen
                ),
            ));
        }
        one_source(&mut p, "admin.token", &self.token, &self.token_file);
        one_source(
            &mut p,
            "admin.metrics_token",
            &self.metrics_token,
            &self.metrics_token_file,
        );
        let mut seen: Vec<&str> = vec![];
        if self.token.is_some() || self.token_file.is_some() {
            seen.push(LEGACY_TOKEN_NAME);
        }
        for (i, t) in self.tokens.iter().enumerate() {
            let key = format!("admin.tokens[{i}]");
            if t.token.is_none() && t.token_file.is_none() {
                p.push((key.clone(), "set token_file (or token)".to_owned()));
            }
            one_source(&mut p, &format!("{key}.token"), &t.token, &t.token_file);
            if !valid_name(&t.name) {
                p.push((
                    format!("{key}.name"),
                    format!(
                        "{:?} must be 1 to 64 letters, digits, '.', '_' or '-'",
                        t.name
                    ),
                ));
            } else if seen.contains(&t.name.as_str()) {
                p.push((
                    format!("{key}.name"),
                    format!(
                        "{:?} is used twice (the name {LEGACY_TOKEN_NAME:?} is admin.token's)",
                        t.name
                    ),
                ));
            }
            seen.push(&t.name);
        }
        p
    }
}

fn source(inline: &Option<Secret>, file: &Option<PathBuf>) -> Option<TokenSource> {
    match (inline, file) {
        (Some(secret), None) => Some(TokenSource::Inline(secret.clone())),
        (_, Some(path)) => Some(TokenSource::File(path.clone())),
        (None, None) => None,
    }
}

fn one_source(
    p: &mut Vec<(String, String)>,
    key: &str,
    inline: &Option<Secret>,
    file: &Option<PathBuf>,
) {
    match (inline, file) {
        (Some(_), Some(_)) => p.push((
            key.to_owned(),
            format!("set either {key} or {key}_file, not both"),
        )),
        (Some(secret), None) if secret.is_empty() => p.push((
            key.to_owned(),
            "must not be empty; remove the key instead".to_owned(),
        )),
        (None, Some(path)) if path.as_os_str().is_empty() => {
            p.push((format!("{key}_file"), "must not be empty".to_owned()));
        }
        _ => {}
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, role: AdminRole, file: &str) -> AdminToken {
        AdminToken {
            name: name.into(),
            role,
            token: None,
            token_file: Some(PathBuf::from(file)),
        }
    }

    #[test]
    fn an_open_listener_off_loopback_is_refused() {
        let mut s = AdminSettings {
            listen: "0.0.0.0:9090".into(),
            ..AdminSettings::default()
        };
        let p = s.access_problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].0, "admin.listen");
        assert!(p[0].1.contains("not a loopback"), "{p:?}");
        s.listen = "[::1]:9090".into();
        assert!(s.access_problems().is_empty());
        s.listen = "10.0.0.5:9090".into();
        s.tokens = vec![named("ops-1", AdminRole::Operator, "/run/secrets/ops1")];
        assert!(s.access_problems().is_empty());
    }

    #[test]
    fn tokens_need_one_source_and_a_unique_name() {
        let mut both = named("ops-1", AdminRole::Operator, "/f");
        both.token = Some(Secret::new("x"));
        let s = AdminSettings {
            token: Some(Secret::new("legacy")),
            tokens: vec![
                both,
                AdminToken {
                    name: "admin".into(),
                    role: AdminRole::Read,
                    token: None,
                    token_file: None,
                },
                named("bad name", AdminRole::Read, "/f"),
            ],
            metrics_token: Some(Secret::default()),
            ..AdminSettings::default()
        };
        let keys: Vec<String> = s.access_problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "admin.metrics_token",
                "admin.tokens[0].token",
                "admin.tokens[1]",
                "admin.tokens[1].name",
                "admin.tokens[2].name",
            ]
        );
    }

    #[test]
    fn the_legacy_token_is_an_operator_named_admin() {
        let s = AdminSettings {
            token: Some(Secret::new("t0k")),
            tokens: vec![named("viewer", AdminRole::Read, "/run/v")],
            ..AdminSettings::default()
        };
        let specs = s.token_specs();
        assert_eq!(specs.len(), 2);
        assert_eq!(
            (specs[0].name.as_str(), specs[0].role),
            ("admin", AdminRole::Operator)
        );
        assert_eq!(specs[1].source, TokenSource::File("/run/v".into()));
        assert_eq!(specs[1].key, "admin.tokens[0]");
    }
}
