//! Provider errors, classified once so the dialer acts on the class.

use std::time::Duration;

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
    #[error("provider rejected the request (code {code:?}, HTTP {http}): {message}")]
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
    /// The request certainly had no effect: connection refused, 5xx, TLS failure
    /// before sending.
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
            ProviderError::Transient(_) => ErrorClass::Later(None),
            ProviderError::Unknown(_) => ErrorClass::Reconcile,
        }
    }
}
