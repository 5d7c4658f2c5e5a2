//! What the Twilio client needs to know: where the API is, whose account,
//! the secret, how long to wait, which status events to ask for.
//!
//! Owns: validation of those values and keeping the auth token out of every
//! `Debug`/`Display`. Does not own: reading them from files or the
//! environment (the `config` module does).

use std::fmt;
use std::time::Duration;

/// The status events sampark asks for on every call: it needs each
/// progress step to rank callbacks and the terminal one to finish the job.
pub const DEFAULT_STATUS_EVENTS: [&str; 4] = ["initiated", "ringing", "answered", "completed"];

/// Settings for [`TwilioClient`](super::TwilioClient).
#[derive(Clone, PartialEq, Eq)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production; an `http://` URL for the
    /// simulator and tests.
    pub base_url: String,
    pub account_sid: String,
    /// Used for Basic auth and webhook signatures. Never printed.
    pub auth_token: String,
    /// Whole-request deadline (connect, send, reply and body).
    pub request_timeout: Duration,
    /// `StatusCallbackEvent` values (see [`DEFAULT_STATUS_EVENTS`]).
    pub status_events: Vec<String>,
}

impl TwilioConfig {
    /// Every problem with these settings, or nothing.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.base_url.parse::<http::Uri>() {
            Ok(uri)
                if matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri.query().is_none() => {}
            _ => problems.push(format!(
                "twilio base_url {:?} must be an absolute http:// or https:// URL without a query",
                self.base_url
            )),
        }
        let sid_ok = !self.account_sid.is_empty()
            && self.account_sid.bytes().all(|b| b.is_ascii_alphanumeric());
        if !sid_ok {
            problems.push(format!(
                "twilio account_sid {:?} must be non-empty letters and digits (e.g. AC…)",
                self.account_sid
            ));
        }
        if self.auth_token.trim().is_empty() {
            problems.push("twilio auth_token is empty".to_owned());
        }
        if self.request_timeout.is_zero() {
            problems.push("twilio request_timeout must be greater than zero".to_owned());
        }
        for event in &self.status_events {
            if !DEFAULT_STATUS_EVENTS.contains(&event.as_str()) {
                problems.push(format!(
                    "twilio status event {event:?} is not one of {}",
                    DEFAULT_STATUS_EVENTS.join(", ")
                ));
            }
        }
        problems
    }
}

impl fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("request_timeout", &self.request_timeout)
            .field("status_events", &self.status_events)
            .finish()
    }
}

impl fmt::Display for TwilioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "twilio account {} at {} (timeout {:?})",
            self.account_sid, self.base_url, self.request_timeout
        )
    }
}

/// Why a [`TwilioClient`](super::TwilioClient) could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TwilioSetupError {
    #[error("invalid twilio settings: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("cannot set up TLS for the twilio client: {0}")]
    Tls(#[from] rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn valid() -> TwilioConfig {
        TwilioConfig {
            base_url: "https://api.twilio.com".into(),
            account_sid: "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            auth_token: "s3cr3t-token-value".into(),
            request_timeout: Duration::from_secs(10),
            status_events: DEFAULT_STATUS_EVENTS.map(String::from).to_vec(),
        }
    }

    #[test]
    fn valid_settings_have_no_problems() {
        assert!(valid().problems().is_empty());
        let mut local = valid();
        local.base_url = "http://127.0.0.1:8080/".into();
        assert!(local.problems().is_empty());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let config = TwilioConfig {
            base_url: "ftp://x".into(),
            account_sid: "AC/../x".into(),
            auth_token: " ".into(),
            request_timeout: Duration::ZERO,
            status_events: vec!["answered".into(), "hungup".into()],
        };
        let problems = config.problems();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[4].contains("\"hungup\""));
    }

    #[test]
    fn token_never_shows() {
        let config = valid();
        for shown in [format!("{config:?}"), config.to_string()] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
            assert!(shown.contains("ACaaaa"), "{shown}");
        }
    }
}
