//! The dial gate: a pause of this instance's dialling, shared by the tasks
//! that decide it (the daemon's data watch) and the one that obeys it (the
//! dispatch loop, which reads and authorises nothing while it is closed).
//!
//! Owns: the flags and why each is set. Does not own: deciding when to pause
//! (`daemon/watch.rs`) or the fleet-wide hold in Redis (`store/guard.rs`).
//! Pausing stops new dials only: webhooks, the reconciler, intake and the
//! relay go on, so calls in progress finish and records still flow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// Why dialling is paused; several may hold at once, and dialling resumes
/// when none does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseCause {
    /// The data watch has not yet read the epoch marker since the start.
    Unverified,
    /// Redis came back empty (or is another Redis): held until an operator
    /// runs `sampark redis accept-empty`.
    RedisEmpty,
    /// Redis would lose data on a restart and `redis.persistence = "require"`.
    NotDurable,
}

impl PauseCause {
    const ALL: [PauseCause; 3] = [
        PauseCause::Unverified,
        PauseCause::RedisEmpty,
        PauseCause::NotDurable,
    ];

    /// Why dialling waits, for an operator (health checks, status).
    pub fn describe(self) -> &'static str {
        match self {
            PauseCause::Unverified => {
                "dialling waits for the first read of the epoch marker in Redis"
            }
            PauseCause::RedisEmpty => {
                "dialling is held on every instance: Redis came back empty; once its data is \
                 checked, run `sampark redis accept-empty` (or POST /admin/redis/accept-empty)"
            }
            PauseCause::NotDurable => {
                "dialling is paused: Redis would lose data on a restart or may evict keys \
                 (redis.persistence = require); fix its persistence settings"
            }
        }
    }

    fn bit(self) -> u8 {
        match self {
            PauseCause::Unverified => 1,
            PauseCause::RedisEmpty => 2,
            PauseCause::NotDurable => 4,
        }
    }
}

/// Cheap to clone: every clone is the same gate.
#[derive(Clone, Debug, Default)]
pub struct DialGate {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    causes: AtomicU8,
    held_rounds: AtomicU64,
}

impl DialGate {
    /// An open gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Pauses for `cause`; true if it was not already paused for it.
    pub fn pause(&self, cause: PauseCause) -> bool {
        self.inner.causes.fetch_or(cause.bit(), Ordering::SeqCst) & cause.bit() == 0
    }

    /// Lifts `cause`; true if it was paused for it.
    pub fn resume(&self, cause: PauseCause) -> bool {
        self.inner.causes.fetch_and(!cause.bit(), Ordering::SeqCst) & cause.bit() != 0
    }

    /// Whether dialling is paused, for any cause.
    pub fn is_paused(&self) -> bool {
        self.inner.causes.load(Ordering::SeqCst) != 0
    }

    pub fn is_paused_for(&self, cause: PauseCause) -> bool {
        self.inner.causes.load(Ordering::SeqCst) & cause.bit() != 0
    }

    /// Every cause dialling is paused for now (empty: it is not).
    pub fn causes(&self) -> Vec<PauseCause> {
        let held = self.inner.causes.load(Ordering::SeqCst);
        PauseCause::ALL
            .into_iter()
            .filter(|c| held & c.bit() != 0)
            .collect()
    }

    /// For the dispatch loop, once per round: whether the round must dial
    /// nothing. Rounds held are counted, so a test can tell the loop really
    /// ran (and stood still) while paused.
    pub fn holds_round(&self) -> bool {
        let paused = self.is_paused();
        if paused {
            self.inner.held_rounds.fetch_add(1, Ordering::Relaxed);
        }
        paused
    }

    /// Dispatch rounds held so far.
    pub fn held_rounds(&self) -> u64 {
        self.inner.held_rounds.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialling_resumes_only_when_no_cause_holds() {
        let gate = DialGate::new();
        assert!(!gate.holds_round());
        let clone = gate.clone();
        assert!(gate.pause(PauseCause::RedisEmpty));
        assert!(!gate.pause(PauseCause::RedisEmpty));
        assert!(gate.pause(PauseCause::NotDurable));
        assert!(clone.holds_round());
        assert!(gate.resume(PauseCause::RedisEmpty));
        assert!(!gate.resume(PauseCause::RedisEmpty));
        assert!(clone.is_paused() && clone.is_paused_for(PauseCause::NotDurable));
        assert_eq!(clone.causes(), [PauseCause::NotDurable]);
        assert!(gate.resume(PauseCause::NotDurable));
        assert!(!clone.holds_round());
        assert!(clone.causes().is_empty());
        assert_eq!(clone.held_rounds(), 1);
    }
}
