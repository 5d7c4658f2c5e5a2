//! What the Exotel client needs: where the API is, whose account, the key
//! and token, how long to wait, how long to ring.
//!
//! Owns: validation of those values and keeping the token out of every
//! `Debug`. Does not own: reading them (the `config` module does).

use std::fmt;
use std::time::Duration;

/// The Exotel REST client's settings.
#[derive(Clone)]
pub struct ExotelConfig {
    /// `https://api.in.exotel.com` (Mumbai), `https://api.exotel.com`
    /// (Singapore), or the simulator.
    pub base_url: String,
    pub account_sid: String,
    pub api_key: String,
    pub api_token: String,
    /// Whole-request deadline.
    pub request_timeout: Duration,
}

impl ExotelConfig {
    /// Every problem with these settings, or nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.base_url.parse::<http::Uri>() {
            Ok(uri)
                if matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri.query().is_none() => {}
            _ => problems.push(format!(
                "exotel base_url {:?} must be an absolute http:// or https:// URL without a query",
                self.base_url
            )),
        }
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
        if !plain(&self.account_sid) {
            problems.push(format!(
                "exotel account_sid {:?} must be non-empty, without spaces or '/'",
                self.account_sid
            ));
        }
        if !plain(&self.api_key) || self.api_key.contains(':') {
            problems.push("exotel api_key must be non-empty, without spaces, '/' or ':'".into());
        }
        if self.api_token.trim().is_empty() {
            problems.push("exotel api_token is empty".to_owned());
        }
        if self.request_timeout.is_zero() {
            problems.push("exotel request_timeout must be greater than zero".to_owned());
        }
        problems
    }
}

impl fmt::Debug for ExotelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExotelConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("api_key", &self.api_key)
            .field("api_token", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// Why an [`ExotelClient`](super::ExotelClient) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExotelSetupError {
    #[error("invalid exotel settings: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("cannot set up TLS for the exotel client: {0}")]
    Tls(#[from] rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ExotelConfig {
        ExotelConfig {
            base_url: "https://api.in.exotel.com".into(),
            account_sid: "odisha1".into(),
            api_key: "k123".into(),
            api_token: "s3cr3t-token".into(),
            request_timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn problems_are_all_reported_and_the_token_never_shows() {
        assert!(valid().problems().is_empty());
        let bad = ExotelConfig {
            base_url: "ftp://x".into(),
            account_sid: "a/b".into(),
            api_key: "k:1".into(),
            api_token: " ".into(),
            request_timeout: Duration::ZERO,
        };
        assert_eq!(bad.problems().len(), 5, "{:?}", bad.problems());
        assert!(!format!("{:?}", valid()).contains("s3cr3t"));
    }
}
