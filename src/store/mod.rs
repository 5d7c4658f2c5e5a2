//! The job store: the Redis data model of ARCHITECTURE.md and an in-memory
//! backend with identical semantics (for the embedded demo).
//!
//! Owns: key layout, Lua scripts (one atomic script per state transition),
//! intake/ready/delayed/in-flight structures, per-official GCRA, the feedback
//! outbox and its relay, the epoch marker and the persistence check
//! (`guard`), the officials' registry, and what an intake entry must be
//! before its document is read (`intake_entry`). Does not own: policy (windows, retry decisions,
//! outcomes) — callers decide, the store applies decisions fenced by attempt.

mod api;
mod calls;
mod campaign;
mod dial;
mod error;
pub mod gcra;
pub mod guard;
mod intake_entry;
mod intake_tally;
pub mod keys;
pub mod memory;
pub mod redis;
mod registry;
mod work;

pub use api::*;
pub use calls::*;
pub use campaign::*;
pub use dial::*;
pub use error::StoreError;
pub use intake_entry::{
    DOCUMENT_FIELD, EXCERPT_BYTES, EXCERPT_FIELDS, IntakeEntry, IntakeLimits, RawEntry,
    RefusedEntry, check_entry,
};
pub use intake_tally::{IntakeRefusal, IntakeStats, IntakeTally, KEPT_REFUSALS, StoredRefusal};
pub use registry::{ImportSummary, OfficialQuery};
pub use work::{ShardNotes, Wake, WakeFeed, WorkSignal};
