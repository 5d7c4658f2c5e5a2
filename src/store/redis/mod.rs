//! Redis backend of [`Store`](super::Store): the data model of ARCHITECTURE.md
//! with one Lua script (`store/lua/*.lua`) per state transition.
//!
//! Owns: connections in every `redis.mode` (standalone, Sentinel, Cluster;
//! `client.rs`: a reconnecting multiplexed one for commands, a separate one
//! for the blocking read of the wake stream), reading intake entries
//! without loading an oversized one (`intake_read.rs`), Cluster hash slots and the cross-slot guard on
//! scripts (`slots.rs`), consumer-group creation and recovery, script
//! invocation and reply parsing, the persistence check and the epoch marker
//! (`guard.rs`), the do-not-call list's entries and index (`dnc.rs`), and the
//! citizen-key fingerprint and the upgrade of old opt-out markers
//! (`citizen_keys.rs`), and the officials' registry (`registry.rs`). Does not own: key layout (`keys.rs`), GCRA
//! parameters (`gcra.rs`), or any policy decision.

mod accountability;
mod authorize_slots;
mod citizen_keys;
mod client;
mod compact;
mod connection;
mod control;
mod dispatch;
mod dnc;
mod enqueue;
mod erase;
mod guard;
mod inbound;
mod intake_read;
mod intake_tally;
mod jobs;
mod park_lists;
mod parse;
mod probe;
mod ready;
mod registry;
mod results;
mod sample;
mod scripts;
mod slots;
mod status;
mod store_impl;
mod transitions;
mod wake;

pub use citizen_keys::{KeyClaim, LegacyOptOuts, UpgradeReport};
pub use client::{Auth, Target};
pub use connection::{RedisStore, ReplicaWait, Timeouts};
pub use erase::{Erased, Erasure};
pub use results::RELAY_DEDUPE_WINDOW;
