//! Redis backend of [`Store`](super::Store): the data model of ARCHITECTURE.md
//! with one Lua script (`store/lua/*.lua`) per state transition.
//!
//! Owns: connections (a reconnecting multiplexed one for commands, a separate
//! one for blocking intake reads), consumer-group creation and recovery, script
//! invocation and reply parsing, the persistence check and the epoch marker
//! (`guard.rs`). Does not own: key layout (`keys.rs`), GCRA
//! parameters (`gcra.rs`), or any policy decision.

mod connection;
mod control;
mod dispatch;
mod guard;
mod inbound;
mod jobs;
mod parse;
mod results;
mod sample;
mod scripts;
mod status;
mod store_impl;
mod transitions;

pub use connection::{RedisStore, Timeouts};
pub use results::RELAY_DEDUPE_WINDOW;
