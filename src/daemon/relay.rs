//! The feedback relay: outbox streams (one per shard) → `sampark:feedback`.
//!
//! Event-driven: a store call of this process that can write a record (a
//! finish, a decision that ends a job, an ended enqueue, a cancel) notes
//! its shard (`store::WorkSignal::records`), and the relay moves that
//! shard's outbox within [`GATHER`]. Records no note tells this instance of — written
//! by another instance that died before relaying them, or left pending by a
//! relay that died before its acknowledgement — it moves on a sweep of every
//! outbox each `sweep_every` (`dialer.poll_interval_ms`, at least
//! [`MIN_SWEEP`]); a pending entry is only taken over after 60 s anyway
//! (`store/redis/results.rs`). After moving records it wakes the scorer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::domain::ScoringRules;
use crate::store::{ShardId, Store, StoreError};
use crate::telemetry::{Metrics, Subsystem, events};

const BATCH: usize = 200;
/// The shortest sweep period, whatever `dialer.poll_interval_ms` says.
pub const MIN_SWEEP: Duration = Duration::from_millis(100);
/// How long the relay waits after a note for more before moving them: at
/// most one pass per shard this often while records flow.
const GATHER: Duration = Duration::from_millis(100);
/// The pause before trying again after the store failed.
const RETRY: Duration = Duration::from_secs(1);

/// Moves feedback records downstream until cancelled.
pub struct Relay {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// Which flags escalate: their records get an escalation.
    pub rules: Arc<ScoringRules>,
    /// How often every outbox is swept for records no note told of.
    pub sweep_every: Duration,
    /// Notified after records were moved (the scorer counts them).
    pub relayed: Arc<Notify>,
}

impl Relay {
    pub async fn run(self, cancel: CancellationToken) {
        let signal = self.store.work_signal();
        let sweep_every = self.sweep_every.max(MIN_SWEEP);
        let mut sweep_at = Instant::now();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until(sweep_at) => {}
                _ = signal.records.notified() => {
                    // Records come in bursts when calls are busy: gather
                    // them into one pass, as a fixed poll did.
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(GATHER) => {}
                    }
                }
            }
            let noted: Vec<ShardId> = signal.records.take().into_keys().collect();
            let pass = if Instant::now() >= sweep_at {
                sweep_at = Instant::now() + sweep_every;
                flush_feedback(self.store.as_ref(), &self.rules).await
            } else {
                flush_shards(self.store.as_ref(), &self.rules, &noted).await
            };
            match pass {
                Ok(n) => {
                    self.metrics.feedback_relayed(n as u64);
                    if n > 0 {
                        self.relayed.notify_one();
                    }
                }
                Err(e) => {
                    events::store_error(&self.metrics, Subsystem::Relay, &e, "relaying feedback");
                    // Their records wait in Redis: sweep every outbox soon.
                    sweep_at = sweep_at.min(Instant::now() + RETRY);
                }
            }
        }
        info!("relay stopped");
    }
}

/// One pass over every shard's outbox; returns how many records moved.
pub async fn flush_feedback(store: &dyn Store, rules: &ScoringRules) -> Result<usize, StoreError> {
    let all: Vec<ShardId> = (0..store.shards()).collect();
    flush_shards(store, rules, &all).await
}

/// Moves everything in the outboxes of `shards`.
async fn flush_shards(
    store: &dyn Store,
    rules: &ScoringRules,
    shards: &[ShardId],
) -> Result<usize, StoreError> {
    let mut moved = 0;
    for &shard in shards {
        loop {
            let n = store.relay_feedback(shard, BATCH, rules).await?;
            moved += n;
            if n < BATCH {
                break;
            }
        }
    }
    Ok(moved)
}
