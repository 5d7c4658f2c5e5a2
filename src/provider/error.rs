//! Provider errors, classified once so the dialer acts on the class.

use std::time::Duration;

/// How long to hold a contact back after the provider refused our credentials.
pub const AUTH_PAUSE: Duration = Duration::from_secs(60);

/// What the dialer should do about a failed provider request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The request was refused for good (e.g. invalid number): do not retry.
    Never,
    /// Not placed; try again after the delay (or the dialer's backoff if `None`).
    Later(Option<Duration>),
    /// The request may or may not have taken effect: reconcile, never redial blindly.
    Reconcile,
}

/// A failed provider request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused the request (4xx other than 429), e.g. 21211.
    #[error("provider rejected the request ({}HTTP {http}): {message}", code.map(|c| format!("code {c}, ")).unwrap_or_default())]
    Rejected {
        http: u16,
        code: Option<u32>,
        message: String,
    },
    /// Over the provider's rate or concurrency limit (429 / 20429).
    #[error("provider is throttling: {message}")]
    Throttled {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The provider refused our credentials (401/403). Nothing was placed; an
    /// operator must fix the account or token, so dialling pauses and retries
    /// rather than failing every contact for good.
    #[error("provider refused our credentials (HTTP {http}): {message}")]
    Unauthorized { http: u16, message: String },
    /// The request certainly had no effect: connection refused, 503, TLS
    /// failure before sending.
    #[error("provider unavailable: {0}")]
    Transient(String),
    /// The request was sent but no reply came (timeout, reset mid-response).
    #[error("provider outcome unknown: {0}")]
    Unknown(String),
}

impl ProviderError {
    pub fn class(&self) -> ErrorClass {
        match self {
            ProviderError::Rejected { .. } => ErrorClass::Never,
            ProviderError::Throttled { retry_after, .. } => ErrorClass::Later(*retry_after),
            ProviderError::Unauthorized { .. } => ErrorClass::Later(Some(AUTH_PAUSE)),
            ProviderError::Transient(_) => ErrorClass::Later(None),
            ProviderError::Unknown(_) => ErrorClass::Reconcile,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_problems_pause_instead_of_failing_contacts() {
        let e = ProviderError::Unauthorized {
            http: 401,
            message: "Authenticate".into(),
        };
        assert_eq!(e.class(), ErrorClass::Later(Some(AUTH_PAUSE)));
        let e = ProviderError::Rejected {
            http: 400,
            code: Some(21211),
            message: "bad To".into(),
        };
        assert_eq!(e.class(), ErrorClass::Never);
    }
}
