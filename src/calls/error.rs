//! Call-core errors, classified once so the HTTP layer (and any other
//! caller) acts on the class: a malformed request, a store that may come
//! back, or data that no retry will fix.

use super::urls::UrlError;
use crate::store::StoreError;

/// Why a call event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request itself is wrong (missing parameters, a reference to
    /// nothing): the provider should not retry it.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UrlError> for CallError {
    fn from(e: UrlError) -> Self {
        CallError::BadRequest(e.to_string())
    }
}

/// What a caller should do about a `CallError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallErrorClass {
    /// The request is malformed (HTTP 400).
    Malformed,
    /// The store is unreachable; the same request later may succeed (HTTP 503,
    /// so the provider retries).
    Unavailable,
    /// Stored data is corrupt or an operation was refused: retrying will not
    /// help and an operator must look (HTTP 500).
    Internal,
}

impl CallError {
    pub fn class(&self) -> CallErrorClass {
        match self {
            CallError::BadRequest(_) => CallErrorClass::Malformed,
            CallError::Store(e) if e.is_transient() => CallErrorClass::Unavailable,
            CallError::Store(_) => CallErrorClass::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_class() {
        let down = CallError::from(StoreError::Unavailable("reset".into()));
        assert_eq!(down.class(), CallErrorClass::Unavailable);
        let corrupt = CallError::from(StoreError::Corrupt {
            key: "k".into(),
            detail: "d".into(),
        });
        assert_eq!(corrupt.class(), CallErrorClass::Internal);
        let bad = CallError::BadRequest("no job".into());
        assert_eq!(bad.class(), CallErrorClass::Malformed);
    }
}
