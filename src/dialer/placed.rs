//! Calls this instance placed, so shutdown can wait for them to end.
//!
//! Kept in placing order as well as by job, so forgetting old entries costs
//! only the entries forgotten: an insert pops the expired entries off the
//! front and stops at the first young one (amortised O(1); nothing is
//! rescanned however many calls are held).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::{JobRef, Store};

/// Entries older than this are forgotten (the reconciler owns them by then).
const FORGET_AFTER: Duration = Duration::from_secs(3 * 3600);

/// The (job, attempt) pairs this instance placed calls for.
pub struct PlacedCalls {
    inner: Mutex<Inner>,
    forget_after: Duration,
}

#[derive(Default)]
struct Inner {
    /// The newest attempt placed per job, and when.
    calls: HashMap<JobRef, (u32, Instant)>,
    /// Every insert in placing order; an entry whose job was placed again
    /// (or pruned) since is stale and only dropped when it expires.
    order: VecDeque<(Instant, JobRef)>,
}

impl Default for PlacedCalls {
    fn default() -> Self {
        PlacedCalls::forgetting_after(FORGET_AFTER)
    }
}

impl PlacedCalls {
    /// Forgets entries `after` they were placed.
    fn forgetting_after(after: Duration) -> PlacedCalls {
        PlacedCalls {
            inner: Mutex::default(),
            forget_after: after,
        }
    }

    pub fn insert(&self, job: JobRef, attempt: u32) {
        self.insert_at(job, attempt, Instant::now());
    }

    fn insert_at(&self, job: JobRef, attempt: u32, now: Instant) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((at, _)) = inner.order.front() {
            if now.duration_since(*at) < self.forget_after {
                break;
            }
            if let Some((at, old)) = inner.order.pop_front()
                && inner
                    .calls
                    .get(&old)
                    .is_some_and(|(_, placed)| *placed == at)
            {
                inner.calls.remove(&old);
            }
        }
        inner.calls.insert(job.clone(), (attempt, now));
        inner.order.push_back((now, job));
    }

    /// Calls held (placed, not yet known to have ended, not forgotten).
    #[cfg(test)]
    fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.calls.len()
    }

    fn snapshot(&self) -> Vec<(JobRef, u32)> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .calls
            .iter()
            .map(|(j, (a, _))| (j.clone(), *a))
            .collect()
    }

    fn remove(&self, job: &JobRef, attempt: u32) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // Only the attempt we looked at: a newer one may have been placed.
        if inner.calls.get(job).is_some_and(|(a, _)| *a == attempt) {
            inner.calls.remove(job);
        }
    }

    /// Forgets calls whose attempt has ended; returns how many are still live.
    /// One pipelined read of each job's state and attempt (no job loaded);
    /// a store error counts every call as live (we cannot tell).
    pub async fn prune_ended(&self, store: &dyn Store) -> usize {
        let held = self.snapshot();
        let jobs: Vec<JobRef> = held.iter().map(|(job, _)| job.clone()).collect();
        let Ok(current) = store.live_attempts(&jobs).await else {
            return held.len();
        };
        let mut live = 0;
        for ((job, attempt), now) in held.into_iter().zip(current) {
            if now == Some(attempt) {
                live += 1;
            } else {
                self.remove(&job, attempt);
            }
        }
        live
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::JobId;

    fn job(i: usize) -> JobRef {
        JobRef::new(0, JobId::parse(&format!("c/{i}")).unwrap())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn old_entries_are_forgotten_young_ones_kept() {
        let t0 = Instant::now();
        let placed = PlacedCalls::forgetting_after(ms(50));
        for i in 0..1_000 {
            placed.insert_at(job(i), 1, t0);
        }
        assert_eq!(placed.len(), 1_000);
        placed.insert_at(job(1_000), 1, t0 + ms(60));
        assert_eq!(placed.len(), 1, "the expired thousand went with one insert");
        assert_eq!(placed.snapshot(), vec![(job(1_000), 1)]);
    }

    #[test]
    fn a_job_placed_again_keeps_its_newest_attempt() {
        let t0 = Instant::now();
        let placed = PlacedCalls::forgetting_after(ms(50));
        placed.insert_at(job(1), 1, t0);
        placed.insert_at(job(1), 2, t0 + ms(30));
        // The first insert expired; the second (same job) has not.
        placed.insert_at(job(2), 1, t0 + ms(60));
        let mut held = placed.snapshot();
        held.sort_by_key(|(j, _)| j.id.to_string());
        assert_eq!(held, vec![(job(1), 2), (job(2), 1)]);
        // Pruning the older attempt leaves the newer one.
        placed.remove(&job(1), 1);
        assert_eq!(placed.len(), 2);
        placed.remove(&job(1), 2);
        assert_eq!(placed.len(), 1);
    }
}
