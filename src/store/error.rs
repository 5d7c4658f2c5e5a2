//! Store errors, classified so callers can act without matching strings.

/// An error from a store backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend could not be reached or the command failed in transit;
    /// retrying later may succeed (Redis down, connection reset, timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data is not what this version understands.
    #[error("corrupt store data at {key}: {detail}")]
    Corrupt { key: String, detail: String },
    /// A script or command was refused for a reason retrying will not fix.
    #[error("store refused the operation: {0}")]
    Refused(String),
}

impl StoreError {
    /// Whether retrying the same operation later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<::redis::RedisError> for StoreError {
    fn from(e: ::redis::RedisError) -> Self {
        if e.is_io_error()
            || e.is_connection_dropped()
            || e.is_timeout()
            || e.is_connection_refusal()
            || e.is_cluster_error()
        {
            StoreError::Unavailable(e.to_string())
        } else {
            StoreError::Refused(e.to_string())
        }
    }
}
