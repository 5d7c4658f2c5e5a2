//! Values that must never reach a log: a generic [`Secret`] string and the
//! Redis URL, whose password is masked in `Debug`.

use std::fmt;

use serde::Deserialize;

/// A secret string (auth token, bearer token). `Debug` never shows it and
/// there is deliberately no `Display`: reading it takes an explicit
/// [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing and authenticating only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Saying whether it is set helps debugging without leaking anything.
        if self.0.is_empty() {
            f.write_str("Secret(<empty>)")
        } else {
            f.write_str("Secret(<redacted>)")
        }
    }
}

/// A Redis connection URL (`redis://` or `rediss://`). `Debug` and
/// [`RedisUrl::redacted`] replace the password with `***`; the full URL is
/// only reachable through [`RedisUrl::expose`], for the connection itself.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct RedisUrl(String);

impl RedisUrl {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`, safe for logs.
    pub fn redacted(&self) -> String {
        redact_password(&self.0)
    }
}

impl Default for RedisUrl {
    fn default() -> Self {
        Self::new("redis://127.0.0.1:6379/")
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({:?})", self.redacted())
    }
}

/// `scheme://user:password@host/...` → `scheme://user:***@host/...`.
/// A URL with only one user-info part (`redis://:pw@` or `redis://pw@` is not
/// a thing, but `redis://token@host` is how some hosted Redis pass a password)
/// has that part masked too: better to hide a user name than leak a password.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL at all; it may still be a pasted secret, so hide it whole.
        return "***".to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let (userinfo, host) = authority.split_at(at);
    let masked = match userinfo.split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{scheme}://{masked}{host}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_hides_value() {
        let s = Secret::new("hunter2-token");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "Secret(<redacted>)");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(<empty>)");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn redis_url_password_is_masked() {
        let cases = [
            ("redis://127.0.0.1:6379/", "redis://127.0.0.1:6379/"),
            ("redis://:s3cret@h:6379/0", "redis://:***@h:6379/0"),
            ("rediss://app:s3cret@h:6380", "rediss://app:***@h:6380"),
            ("redis://s3cret@h/", "redis://***@h/"),
            ("redis://u:p@ss@h/", "redis://u:***@h/"),
            ("s3cret", "***"),
        ];
        for (raw, want) in cases {
            let url = RedisUrl::new(raw);
            assert_eq!(url.redacted(), want, "{raw}");
            assert!(!format!("{url:?}").contains("s3cret"));
        }
    }
}
