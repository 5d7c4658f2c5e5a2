//! When the dispatch loop looks at each shard next: instead of polling every
//! shard on a fixed period, the loop promotes a shard when its earliest
//! waiting work is due (learnt from the store after each promotion, or from
//! this instance's own transitions through `store::WorkSignal`, or from
//! another instance's enqueue or resume through the wake stream,
//! `daemon/wake.rs`), reads only shards that hold ready entries, and sleeps
//! until the earliest of those times. Work nothing told it about (left
//! pending by a dead instance, its retries) it finds on a look over every
//! shard each `look_every` (`dialer.poll_interval_ms`, 60 s by default).
//!
//! | event | effect |
//! |---|---|
//! | look-over time reached | every shard promoted, next look-over scheduled |
//! | shard due time reached | that shard promoted |
//! | promoted | due time := the store's next due (none: never); ready if its streams hold entries |
//! | read fewer than a batch | not ready until promoted again |
//! | entries of a shard decided | shard due now (learn its new next due) |
//! | signalled (this instance's transition, another's wake) | due time := min(due time, signalled time) |
//!
//! Owns: these times. Does not own: the store calls (`dispatch.rs`).

use std::time::Duration;

use tokio::time::Instant;

use crate::store::{Promoted, ShardId};

#[derive(Debug)]
pub(super) struct Plan {
    due: Vec<Option<Instant>>,
    ready: Vec<bool>,
    next_look: Instant,
    look_every: Duration,
}

impl Plan {
    /// Every shard is looked at first.
    pub fn new(shards: ShardId, look_every: Duration, now: Instant) -> Plan {
        Plan {
            due: vec![None; usize::from(shards)],
            ready: vec![false; usize::from(shards)],
            next_look: now,
            look_every,
        }
    }

    /// The shards to promote now (all of them at a look-over).
    pub fn due_shards(&mut self, now: Instant) -> Vec<ShardId> {
        let all = now >= self.next_look;
        if all {
            self.next_look = now + self.look_every;
        }
        self.shards()
            .filter(|&s| all || self.due[usize::from(s)].is_some_and(|at| at <= now))
            .collect()
    }

    /// What promoting `shard` at `now` (this process's clock) found.
    pub fn promoted(&mut self, shard: ShardId, found: &Promoted, now: Instant) {
        let index = usize::from(shard);
        self.due[index] = found
            .next_due_ms
            .map(|ms| now + Duration::from_millis(u64::try_from(ms - found.now_ms).unwrap_or(0)));
        self.ready[index] = found.ready;
    }

    /// The shards whose ready streams hold entries.
    pub fn ready_shards(&self) -> Vec<ShardId> {
        self.shards()
            .filter(|&s| self.ready[usize::from(s)])
            .collect()
    }

    /// `got` entries were read from `shard` with room for `batch`: fewer
    /// means its streams had no more to give.
    pub fn read(&mut self, shard: ShardId, got: usize, batch: usize) {
        if got < batch {
            self.ready[usize::from(shard)] = false;
        }
    }

    /// Work on `shard` is due at `at`.
    pub fn due_at(&mut self, shard: ShardId, at: Instant) {
        if let Some(slot) = self.due.get_mut(usize::from(shard)) {
            *slot = Some(slot.map_or(at, |t| t.min(at)));
        }
    }

    /// When the loop must run next: at once while a shard is ready, else the
    /// earliest due time or look-over.
    pub fn wake_at(&self, now: Instant) -> Instant {
        if self.ready.iter().any(|&r| r) {
            return now;
        }
        self.due
            .iter()
            .flatten()
            .fold(self.next_look, |a, &b| a.min(b))
    }

    fn shards(&self) -> impl Iterator<Item = ShardId> {
        // INVARIANT: built from a ShardId count, so every index fits.
        let count = self.due.len() as ShardId;
        0..count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOK: Duration = Duration::from_secs(5);

    fn found(next_due_ms: Option<i64>, ready: bool) -> Promoted {
        Promoted {
            promoted: 0,
            next_due_ms,
            ready,
            now_ms: 1_000,
        }
    }

    #[test]
    fn looks_over_every_shard_first_then_only_due_ones() {
        let t0 = Instant::now();
        let mut plan = Plan::new(3, LOOK, t0);
        assert_eq!(plan.due_shards(t0), vec![0, 1, 2]);
        plan.promoted(0, &found(Some(1_200), false), t0);
        plan.promoted(1, &found(None, false), t0);
        plan.promoted(2, &found(None, true), t0);
        assert_eq!(plan.ready_shards(), vec![2]);
        assert_eq!(plan.wake_at(t0), t0, "a ready shard runs at once");
        plan.read(2, 3, 64);
        assert!(plan.ready_shards().is_empty());
        let due = t0 + Duration::from_millis(200);
        assert_eq!(plan.wake_at(t0), due);
        assert!(plan.due_shards(due - Duration::from_millis(1)).is_empty());
        assert_eq!(plan.due_shards(due), vec![0]);
        plan.promoted(0, &found(None, false), due);
        assert_eq!(plan.wake_at(due), t0 + LOOK, "nothing due: the look-over");
        assert_eq!(plan.due_shards(t0 + LOOK), vec![0, 1, 2]);
    }

    #[test]
    fn a_signal_brings_a_shard_forward_never_back() {
        let t0 = Instant::now();
        let mut plan = Plan::new(2, LOOK, t0);
        plan.due_shards(t0);
        plan.promoted(1, &found(Some(3_000), false), t0);
        plan.due_at(1, t0 + Duration::from_secs(9));
        assert_eq!(plan.wake_at(t0), t0 + Duration::from_secs(2));
        plan.due_at(1, t0 + Duration::from_millis(10));
        assert_eq!(plan.wake_at(t0), t0 + Duration::from_millis(10));
        plan.due_at(7, t0);
        assert_eq!(plan.due_shards(t0 + Duration::from_millis(10)), vec![1]);
    }

    #[test]
    fn a_full_batch_keeps_the_shard_ready() {
        let t0 = Instant::now();
        let mut plan = Plan::new(1, LOOK, t0);
        plan.promoted(0, &found(None, true), t0);
        plan.read(0, 64, 64);
        assert_eq!(plan.ready_shards(), vec![0]);
    }
}
