//! The in-process wake-up from the store to this instance's dialer: a
//! transition that makes work due on a shard (a job enqueued, requeued, set
//! to retry, a campaign resumed) notes the shard and when, so the dialer
//! sleeps until exactly then instead of polling.
//!
//! Owns: the earliest pending time per shard and one notification. Does not
//! own: what the dialer does with it (`dialer/dispatch.rs`), or work made due
//! by another instance, which the dialer finds on its periodic look over
//! every shard (`dialer.poll_interval_ms`).

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ShardId;

#[derive(Debug, Default)]
pub struct WorkSignal {
    due: Mutex<HashMap<ShardId, Instant>>,
    notify: Notify,
}

impl WorkSignal {
    /// Work on `shard` becomes due at `at` (now: at once).
    pub fn due(&self, shard: ShardId, at: Instant) {
        {
            let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
            let slot = due.entry(shard).or_insert(at);
            if at < *slot {
                *slot = at;
            }
        }
        self.notify.notify_one();
    }

    /// Work on `shard` is due now.
    pub fn now(&self, shard: ShardId) {
        self.due(shard, Instant::now());
    }

    /// Every shard noted since the last take, with its earliest time.
    pub fn take(&self) -> HashMap<ShardId, Instant> {
        std::mem::take(&mut *self.due.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits for the next note (one taken before this call counts).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn keeps_the_earliest_time_per_shard_and_wakes_once_noted() {
        let signal = WorkSignal::default();
        let now = Instant::now();
        signal.due(3, now + Duration::from_secs(5));
        signal.due(3, now + Duration::from_secs(1));
        signal.due(3, now + Duration::from_secs(9));
        signal.due(1, now);
        // A note made before waiting is not lost.
        signal.notified().await;
        let taken = signal.take();
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[&3], now + Duration::from_secs(1));
        assert_eq!(taken[&1], now);
        assert!(signal.take().is_empty());
    }
}
