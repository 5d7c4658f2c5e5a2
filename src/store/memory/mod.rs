//! The in-memory store backend: the Redis data model of ARCHITECTURE.md held
//! in one process, for the embedded demo (`sampark demo`) and tests.
//!
//! Owns: the same semantics as the Redis backend — per-shard ready streams
//! with a consumer-group pending list (reclaimed after idling), delayed and
//! in-flight sets ordered by time, job records fenced by attempt, per-(shard,
//! campaign) and per-official counts, sample claims, per-shard outboxes relayed into one feedback stream with
//! Redis-style entry ids, dead letters, citizen opt-outs, do-not-call entries
//! and rolling call caps, and per-official and per-department GCRA, the officials' registry. Every operation is one critical section over one
//! `State`, the counterpart of one Lua script. Does not own: durability
//! (everything is lost with the process) or policy.
//!
//! | file | holds |
//! |---|---|
//! | `store.rs` | `MemoryStore`: the lock, blocking intake reads |
//! | `state.rs` | the data model; intake, campaigns, enqueue, results |
//! | `counts.rs` | contacts per state, per campaign and per official |
//! | `citizen.rs` | opt-outs, do-not-call entries, rolling call caps |
//! | `clock.rs` | `MemoryClock`: system time, or tokio's (controlled-time tests) |
//! | `dial.rs` | authorize, defer, promote, originate, requeue, status, leases |
//! | `call.rs` | IVR steps and finishing an attempt |
//! | `control.rs` | operators' pause, resume and cancel |
//! | `inbound.rs` | remembered visits, live inbound calls, inbound jobs |
//! | `intake_tally.rs` | campaigns' intake tallies |
//! | `registry.rs` | the officials' registry |
//! | `stream.rs` | a stream with one consumer group |
//! | `timeset.rs` | a ZSET-like set of jobs ordered by time |

mod accountability;
mod call;
mod citizen;
mod clock;
mod control;
mod counts;
mod dial;
mod inbound;
mod intake_tally;
mod registry;
mod state;
mod store;
mod stream;
mod timeset;

#[cfg(test)]
mod tests;

pub use clock::MemoryClock;
pub use store::MemoryStore;
