//! The feedback relay: outbox streams (one per shard) → `sampark:feedback`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::domain::ScoringRules;
use crate::store::{Store, StoreError};
use crate::telemetry::{Metrics, Subsystem, events};

const BATCH: usize = 200;
const IDLE: Duration = Duration::from_millis(100);

/// Moves feedback records downstream until cancelled.
pub struct Relay {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    /// Which flags escalate: their records get an escalation.
    pub rules: Arc<ScoringRules>,
}

impl Relay {
    pub async fn run(self, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            let moved = match flush_feedback(self.store.as_ref(), &self.rules).await {
                Ok(n) => {
                    self.metrics.feedback_relayed(n as u64);
                    n
                }
                Err(e) => {
                    events::store_error(&self.metrics, Subsystem::Relay, &e, "relaying feedback");
                    0
                }
            };
            if moved == 0 {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(IDLE) => {}
                }
            }
        }
        info!("relay stopped");
    }
}

/// One pass over every shard's outbox; returns how many records moved.
pub async fn flush_feedback(store: &dyn Store, rules: &ScoringRules) -> Result<usize, StoreError> {
    let mut moved = 0;
    for shard in 0..store.shards() {
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
