//! Calls this instance placed, so shutdown can wait for them to end.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::JobState;
use crate::store::{JobRef, Store};

/// Entries older than this are forgotten (the reconciler owns them by then).
const FORGET_AFTER: Duration = Duration::from_secs(3 * 3600);
const PRUNE_ABOVE: usize = 10_000;

/// The (job, attempt) pairs this instance placed calls for.
#[derive(Default)]
pub struct PlacedCalls {
    calls: Mutex<HashMap<JobRef, (u32, Instant)>>,
}

impl PlacedCalls {
    pub fn insert(&self, job: JobRef, attempt: u32) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        if calls.len() > PRUNE_ABOVE {
            calls.retain(|_, (_, at)| at.elapsed() < FORGET_AFTER);
        }
        calls.insert(job, (attempt, Instant::now()));
    }

    fn snapshot(&self) -> Vec<(JobRef, u32)> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.iter().map(|(j, (a, _))| (j.clone(), *a)).collect()
    }

    fn remove(&self, job: &JobRef) {
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls.remove(job);
    }

    /// Forgets calls whose attempt has ended; returns how many are still live.
    /// A store error counts the call as live (we cannot tell).
    pub async fn prune_ended(&self, store: &dyn Store) -> usize {
        let mut live = 0;
        for (job, attempt) in self.snapshot() {
            match store.load_job(&job).await {
                Ok(Some(j))
                    if j.attempt == attempt
                        && matches!(j.state, JobState::Dialing | JobState::InCall) =>
                {
                    live += 1
                }
                Ok(_) => self.remove(&job),
                Err(_) => live += 1,
            }
        }
        live
    }
}
