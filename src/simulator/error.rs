//! Errors at the simulator's boundary (start-up, the ledger file, placing an
//! inbound call).

use std::path::PathBuf;

use super::persona::PersonaError;
use crate::domain::PhoneError;

/// Why the simulator could not start, its ledger could not be read, or an
/// inbound call could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    #[error("listener has no local address: {0}")]
    Listener(#[source] std::io::Error),
    #[error("cannot open ledger {path}: {source}")]
    LedgerOpen {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read ledger {path}: {source}")]
    LedgerRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger {path} line {line} is not a ledger entry: {source}")]
    LedgerParse {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
    #[error("no inbound voice URL is configured (inbound_voice_url, --inbound-voice-url)")]
    NoInboundVoiceUrl,
    /// The number itself is left out: error messages end up in logs.
    #[error("the caller's number is not E.164: {0}")]
    InvalidCaller(#[source] PhoneError),
    #[error("invalid persona: {0}")]
    InvalidPersona(#[from] PersonaError),
    #[error("the simulator is shutting down")]
    ShuttingDown,
}
