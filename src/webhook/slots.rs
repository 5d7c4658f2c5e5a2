//! Who may hold one of a listener's connections.
//!
//! | when a connection arrives and…                 | then                                  |
//! |------------------------------------------------|---------------------------------------|
//! | its address holds `per_source` connections     | it is closed at once (before any other connection is made to give way) |
//! | fewer than `max` connections are open          | it is served                          |
//! | all `max` are open, some with no request in flight | the one idle longest gives way (its slot is taken now; it closes as soon as it has no request) |
//! | all `max` are open, each with a request in flight | it waits (in the kernel's backlog) for a slot |
//!
//! So a flood of idle or slow connections cannot keep a genuine client out:
//! one address takes at most `per_source` slots, and connections that are
//! not serving a request yield to new ones.
//!
//! Owns: the count of open connections per address and in all, and the
//! choice of the connection that gives way. Does not own: deadlines
//! (`deadlines.rs`), closing (the connection's task does).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::deadlines::Activity;

/// How often a full listener looks again for a connection that can give
/// way (one whose request has ended since).
const RECHECK: Duration = Duration::from_millis(50);

pub(super) struct Slots {
    max: usize,
    per_source: usize,
    open: Mutex<Open>,
    freed: Notify,
}

#[derive(Default)]
struct Open {
    next: u64,
    slots: HashMap<u64, Slot>,
    per_source: HashMap<IpAddr, usize>,
}

struct Slot {
    source: IpAddr,
    activity: Arc<Activity>,
    give_way: CancellationToken,
}

/// One connection's slot, freed on drop.
pub(super) struct Ticket {
    slots: Arc<Slots>,
    id: u64,
    /// Cancelled when the connection must give way.
    pub(super) give_way: CancellationToken,
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct TooManyFromSource;

impl Open {
    fn remove(&mut self, id: u64) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        if let Some(n) = self.per_source.get_mut(&slot.source) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&slot.source);
            }
        }
        true
    }
}

impl Slots {
    pub(super) fn new(max: usize, per_source: usize) -> Arc<Slots> {
        Arc::new(Slots {
            max: max.max(1),
            per_source: per_source.max(1),
            open: Mutex::new(Open::default()),
            freed: Notify::new(),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves when a new connection can be taken: a slot is free, or the
    /// connection idle longest has been told to give way (its slot is free
    /// from now).
    pub(super) async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            if self.make_room() {
                return;
            }
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(RECHECK) => {}
            }
        }
    }

    fn make_room(&self) -> bool {
        let mut open = self.open();
        if open.slots.len() < self.max {
            return true;
        }
        let longest_idle = open
            .slots
            .iter()
            .filter_map(|(id, slot)| slot.activity.idle_since().map(|since| (since, *id)))
            .min();
        let Some((_, id)) = longest_idle else {
            return false;
        };
        if let Some(slot) = open.slots.get(&id) {
            slot.give_way.cancel();
        }
        open.remove(id)
    }

    /// Whether `source` already holds its share of connections.
    pub(super) fn at_share(&self, source: IpAddr) -> bool {
        self.open().per_source.get(&source).copied().unwrap_or(0) >= self.per_source
    }

    /// Takes a slot for a connection from `source`, unless that address
    /// already holds its share.
    pub(super) fn admit(
        self: &Arc<Self>,
        source: IpAddr,
        activity: Arc<Activity>,
    ) -> Result<Ticket, TooManyFromSource> {
        if self.at_share(source) {
            return Err(TooManyFromSource);
        }
        let mut open = self.open();
        *open.per_source.entry(source).or_default() += 1;
        open.next += 1;
        let id = open.next;
        let give_way = CancellationToken::new();
        open.slots.insert(
            id,
            Slot {
                source,
                activity,
                give_way: give_way.clone(),
            },
        );
        Ok(Ticket {
            slots: self.clone(),
            id,
            give_way,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        // A connection that gave way has left the table already.
        if self.slots.open().remove(self.id) {
            self.slots.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test]
    async fn one_source_takes_at_most_its_share() {
        let slots = Slots::new(10, 2);
        let a1 = slots.admit(ip(1), Activity::new()).unwrap();
        let _a2 = slots.admit(ip(1), Activity::new()).unwrap();
        assert_eq!(
            slots.admit(ip(1), Activity::new()).err(),
            Some(TooManyFromSource)
        );
        assert!(slots.admit(ip(2), Activity::new()).is_ok());
        drop(a1);
        assert!(slots.admit(ip(1), Activity::new()).is_ok());
    }

    #[tokio::test]
    async fn a_full_listener_makes_the_longest_idle_give_way_never_one_in_flight() {
        let slots = Slots::new(2, 2);
        let busy = Activity::new();
        let first = slots.admit(ip(1), busy.clone()).unwrap();
        let _request = busy.request();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let second = slots.admit(ip(2), Activity::new()).unwrap();
        slots.room().await;
        assert!(second.give_way.is_cancelled(), "the idle one gives way");
        assert!(!first.give_way.is_cancelled(), "the busy one stays");
        // Its slot is free at once.
        let third_activity = Activity::new();
        let _third = slots.admit(ip(3), third_activity.clone()).unwrap();
        let _third_request = third_activity.request();
        drop(second);
        // Full, every connection with a request in flight: no room until
        // one closes.
        assert!(
            tokio::time::timeout(Duration::from_millis(200), slots.room())
                .await
                .is_err()
        );
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), slots.room())
            .await
            .expect("a closed connection's slot is room");
    }
}
