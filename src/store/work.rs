//! In-process wake-ups from the store to this instance's background loops,
//! so none of them polls Redis on a short fixed period:
//!
//! | note | made by (store calls of this process) | wakes |
//! |---|---|---|
//! | work due on a shard at a time | an enqueue, a requeue, a retry, a resume; a wake from another instance (`daemon/wake.rs`) | the dispatch loop (`dialer/plan.rs`) |
//! | an in-flight deadline on a shard | a granted dial (the originate lease), a lease extended | the reconciler (`dialer/reconcile.rs`) |
//! | a hang-up asked for (as shard 0, due now) | `campaign cancel --hangup`; a wake from another instance | the reconciler |
//! | records in a shard's outbox | every call that can end a job (finish, a decision that ends it, an ended enqueue, a cancel) | the relay (`daemon/relay.rs`) |
//!
//! Owns: the earliest pending time per shard of each kind and one
//! notification each. Does not own: what the loops do with them, or work
//! made by another instance, which reaches this one through the wake stream
//! (`WakeFeed`, read by `daemon/wake.rs`) or else the loops' slow look over
//! every shard (`dialer.poll_interval_ms`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::{Authorize, CampaignAction, Finish, ShardId, StoreError, Transition};

/// The earliest noted time per shard, and a notification for one waiter.
#[derive(Debug, Default)]
pub struct ShardNotes {
    due: Mutex<HashMap<ShardId, Instant>>,
    notify: Notify,
}

impl ShardNotes {
    /// Something on `shard` is due at `at` (now: at once).
    pub fn note(&self, shard: ShardId, at: Instant) {
        {
            let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
            let slot = due.entry(shard).or_insert(at);
            if at < *slot {
                *slot = at;
            }
        }
        self.notify.notify_one();
    }

    /// Every shard noted since the last take, with its earliest time.
    pub fn take(&self) -> HashMap<ShardId, Instant> {
        std::mem::take(&mut *self.due.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits for the next note (one made before this call counts).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }
}

/// The notes of one store, one set per loop (see the module docs).
#[derive(Debug, Default)]
pub struct WorkSignal {
    dial: ShardNotes,
    /// In-flight deadlines (and hang-up requests, as a bare poke).
    pub leases: ShardNotes,
    /// Outboxes holding records to relay.
    pub records: ShardNotes,
}

impl WorkSignal {
    /// Work on `shard` becomes due at `at` (now: at once).
    pub fn due(&self, shard: ShardId, at: Instant) {
        self.dial.note(shard, at);
    }

    /// Work on `shard` is due now.
    pub fn now(&self, shard: ShardId) {
        self.due(shard, Instant::now());
    }

    /// Every shard noted for the dialer since the last take, with its
    /// earliest time.
    pub fn take(&self) -> HashMap<ShardId, Instant> {
        self.dial.take()
    }

    /// Waits for the dialer's next note (one taken before this call counts).
    pub async fn notified(&self) {
        self.dial.notified().await;
    }

    /// A job of `shard` is in flight until `lease` from now.
    pub fn lease(&self, shard: ShardId, lease: Duration) {
        self.leases.note(shard, Instant::now() + lease);
    }

    /// A campaign was cancelled with `--hangup`: its live calls are to end.
    /// Noted as shard 0 due now: the reconciler's next pass, due at once,
    /// reads the hang-up requests (as every pass does).
    pub fn hangup(&self) {
        self.leases.note(0, Instant::now());
    }

    /// `shard`'s outbox may hold new records.
    pub fn recorded(&self, shard: ShardId) {
        self.records.note(shard, Instant::now());
    }

    /// A ready entry of `shard` was decided `verdict` with `lease`: a
    /// granted dial is in flight; a job ended by the decision has a record.
    pub fn authorized(&self, shard: ShardId, verdict: &Authorize, lease: Duration) {
        match verdict {
            Authorize::Granted { .. } => self.lease(shard, lease),
            Authorize::OptedOut | Authorize::Cancelled | Authorize::Expired => self.recorded(shard),
            Authorize::Deferred { .. }
            | Authorize::ProviderBusy { .. }
            | Authorize::Stale
            | Authorize::Parked => {}
        }
    }

    /// An attempt on `shard` ended as `finish`: a retry is due after its
    /// delay; a terminal end wrote a record.
    pub fn finished(&self, shard: ShardId, applied: Transition, finish: &Finish) {
        if applied != Transition::Applied {
            return;
        }
        match finish {
            Finish::Retry { delay, .. } => self.due(shard, Instant::now() + *delay),
            Finish::Terminal { .. } => self.recorded(shard),
        }
    }

    /// An operator's `action` was applied over `shards` shards: a resume
    /// makes parked work due, a cancel writes records (and asks for
    /// hang-ups).
    pub fn controlled(&self, shards: ShardId, action: CampaignAction) {
        match action {
            CampaignAction::Resume => (0..shards).for_each(|s| self.now(s)),
            CampaignAction::Cancel { hangup } => {
                (0..shards).for_each(|s| self.recorded(s));
                if hangup {
                    self.hangup();
                }
            }
            CampaignAction::Pause => {}
        }
    }
}

/// A wake one instance leaves for the others (`WakeFeed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Work became due now on these shards (jobs enqueued, a campaign
    /// resumed): their dialers look at them at once.
    Shards(Vec<ShardId>),
    /// A campaign was cancelled with `--hangup`: reconcilers look at the
    /// hang-up requests at once.
    Hangup,
}

/// The wakes instances leave each other through the store (Redis: a short
/// stream read with a blocking `XREAD` on a connection of its own). Written
/// by the store calls that make work for the fleet; read by each daemon's
/// wake task (`daemon/wake.rs`), which turns them into the notes above.
/// A backend without other instances (the in-memory store) has none.
#[async_trait]
pub trait WakeFeed: Send + Sync {
    /// The position of the newest wake now: reading after it skips none
    /// left from then on.
    async fn wake_tail(&self) -> Result<String, StoreError>;
    /// The wakes other instances left after `after`, waiting up to `block`
    /// for one; returns the new position with them (this instance's own
    /// wakes are left out: it noted them already).
    async fn read_wakes(
        &self,
        after: &str,
        block: Duration,
    ) -> Result<(String, Vec<Wake>), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn each_loop_has_its_own_notes() {
        let signal = WorkSignal::default();
        signal.recorded(2);
        signal.lease(4, Duration::from_secs(60));
        assert!(signal.take().is_empty(), "the dialer was told nothing");
        signal.records.notified().await;
        assert_eq!(signal.records.take().into_keys().collect::<Vec<_>>(), [2]);
        signal.leases.notified().await;
        let leases = signal.leases.take();
        assert!(leases[&4] > Instant::now() + Duration::from_secs(59));
        signal.hangup();
        signal.leases.notified().await;
        assert!(
            signal.leases.take()[&0] <= Instant::now(),
            "a hang-up is due at once"
        );
    }
}
