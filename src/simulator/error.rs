//! Errors at the simulator's boundary (start-up and the ledger file).

use std::path::PathBuf;

/// Why the simulator could not start or its ledger could not be read.
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
}
