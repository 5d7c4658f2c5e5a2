//! An in-memory stand-in for a Redis stream with (at most) one consumer group.
//!
//! Owns: entry ids (`<ms>-<seq>`, strictly increasing like Redis stream ids),
//! the entries, and the group's pending list with XAUTOCLAIM-style reclaim.
//! Does not own: what the entries mean or the clock (callers pass `now_ms`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A stream entry id, ordered like Redis ids: by milliseconds, then sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct EntryId {
    pub ms: u64,
    pub seq: u64,
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for EntryId {
    type Err = String;

    /// Accepts `<ms>-<seq>` and, like Redis range arguments, a bare `<ms>`
    /// (sequence 0), so `"0"` means "before everything".
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid stream id {s:?}");
        let (ms, seq) = match s.split_once('-') {
            Some((ms, seq)) => (ms, seq.parse().map_err(|_| bad())?),
            None => (s, 0),
        };
        Ok(Self {
            ms: ms.parse().map_err(|_| bad())?,
            seq,
        })
    }
}

/// Who holds a delivered-but-unacknowledged entry, and since when.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Delivery {
    consumer: String,
    delivered_at_ms: i64,
}

/// A stream and its consumer group.
#[derive(Debug)]
pub(super) struct Stream<T> {
    entries: BTreeMap<EntryId, T>,
    last_id: EntryId,
    /// The group's `last-delivered-id`: entries after it are new to the group.
    last_delivered: EntryId,
    pending: BTreeMap<EntryId, Delivery>,
}

impl<T> Default for Stream<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            last_id: EntryId::default(),
            last_delivered: EntryId::default(),
            pending: BTreeMap::new(),
        }
    }
}

impl<T: Clone> Stream<T> {
    /// Appends an entry (XADD `*`); the id never goes backwards even if the
    /// clock does, exactly as Redis guarantees.
    pub fn add(&mut self, now_ms: i64, value: T) -> EntryId {
        let ms = u64::try_from(now_ms).unwrap_or(0);
        let id = if ms > self.last_id.ms {
            EntryId { ms, seq: 0 }
        } else {
            EntryId {
                ms: self.last_id.ms,
                seq: self.last_id.seq + 1,
            }
        };
        self.last_id = id;
        self.entries.insert(id, value);
        id
    }

    /// Delivers up to `count` entries to `consumer`: first entries pending
    /// with any consumer for at least `reclaim_after_ms` (XAUTOCLAIM), then
    /// entries never delivered (XREADGROUP `>`). Delivered entries stay
    /// pending until acknowledged.
    pub fn read(
        &mut self,
        consumer: &str,
        count: usize,
        now_ms: i64,
        reclaim_after_ms: i64,
    ) -> Vec<(EntryId, T)> {
        let mut out = Vec::new();
        let stale: Vec<EntryId> = self
            .pending
            .iter()
            .filter(|(_, d)| now_ms - d.delivered_at_ms >= reclaim_after_ms)
            .map(|(id, _)| *id)
            .take(count)
            .collect();
        for id in stale {
            // Like XAUTOCLAIM on Redis 7, a pending id whose entry was
            // deleted is dropped from the pending list rather than returned.
            match self.entries.get(&id) {
                Some(value) => {
                    out.push((id, value.clone()));
                    self.deliver(id, consumer, now_ms);
                }
                None => {
                    self.pending.remove(&id);
                }
            }
        }
        let fresh: Vec<(EntryId, T)> = self
            .entries
            .range(self.after(self.last_delivered)..)
            .take(count - out.len())
            .map(|(id, v)| (*id, v.clone()))
            .collect();
        for (id, value) in fresh {
            self.last_delivered = id;
            self.deliver(id, consumer, now_ms);
            out.push((id, value));
        }
        out
    }

    fn deliver(&mut self, id: EntryId, consumer: &str, now_ms: i64) {
        self.pending.insert(
            id,
            Delivery {
                consumer: consumer.to_owned(),
                delivered_at_ms: now_ms,
            },
        );
    }

    fn after(&self, id: EntryId) -> EntryId {
        EntryId {
            ms: id.ms,
            seq: id.seq.saturating_add(1),
        }
    }

    /// Acknowledges and deletes an entry (XACK + XDEL); true if it existed.
    pub fn ack(&mut self, id: EntryId) -> bool {
        self.pending.remove(&id);
        self.entries.remove(&id).is_some()
    }

    /// Removes and returns up to `max` entries from the front (oldest first),
    /// for consumers that take entries atomically and need no pending list.
    pub fn drain_front(&mut self, max: usize) -> Vec<(EntryId, T)> {
        let ids: Vec<EntryId> = self.entries.keys().take(max).copied().collect();
        ids.into_iter()
            .filter_map(|id| {
                self.pending.remove(&id);
                self.entries.remove(&id).map(|v| (id, v))
            })
            .collect()
    }

    /// Entries strictly after `cursor`, oldest first (XRANGE `(cursor +`).
    pub fn after_cursor(&self, cursor: EntryId, count: usize) -> Vec<(EntryId, T)> {
        self.entries
            .range(self.after(cursor)..)
            .take(count)
            .map(|(id, v)| (*id, v.clone()))
            .collect()
    }

    /// The last `count` entries, oldest first (XREVRANGE reversed).
    pub fn last(&self, count: usize) -> Vec<T> {
        let mut tail: Vec<T> = self.entries.values().rev().take(count).cloned().collect();
        tail.reverse();
        tail
    }

    /// Entries held (new or pending), as `XLEN`.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Number of delivered, unacknowledged entries.
    #[cfg(test)]
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The consumer holding a pending entry, if any.
    #[cfg(test)]
    pub fn holder(&self, id: EntryId) -> Option<&str> {
        self.pending.get(&id).map(|d| d.consumer.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<T>(read: &[(EntryId, T)]) -> Vec<String> {
        read.iter().map(|(id, _)| id.to_string()).collect()
    }

    #[test]
    fn ids_increase_even_when_the_clock_stalls_or_goes_back() {
        let mut s = Stream::default();
        let a = s.add(1000, "a");
        let b = s.add(1000, "b");
        let c = s.add(900, "c");
        let d = s.add(1001, "d");
        assert_eq!(
            [a, b, c, d].map(|i| i.to_string()),
            ["1000-0", "1000-1", "1000-2", "1001-0"]
        );
        assert!(a < b && b < c && c < d);
    }

    #[test]
    fn id_zero_is_never_issued() {
        let mut s = Stream::default();
        assert_eq!(s.add(0, ()).to_string(), "0-1");
    }

    #[test]
    fn ids_parse_like_redis() {
        assert_eq!("12-3".parse::<EntryId>(), Ok(EntryId { ms: 12, seq: 3 }));
        assert_eq!("0".parse::<EntryId>(), Ok(EntryId::default()));
        assert!("x-1".parse::<EntryId>().is_err());
        assert!("1-x".parse::<EntryId>().is_err());
    }

    #[test]
    fn delivered_entries_stay_pending_until_acked() {
        let mut s = Stream::default();
        let a = s.add(10, 'a');
        let b = s.add(11, 'b');
        assert_eq!(ids(&s.read("c1", 10, 20, 1_000)), ["10-0", "11-0"]);
        // Not idle long enough and nothing new: nothing to deliver.
        assert!(s.read("c2", 10, 500, 1_000).is_empty());
        assert_eq!(s.pending_len(), 2);
        assert!(s.ack(a));
        assert!(!s.ack(a), "a second ack finds nothing");
        assert_eq!(s.pending_len(), 1);
        assert_eq!(s.holder(b), Some("c1"));
    }

    #[test]
    fn idle_pending_entries_are_reclaimed_by_another_consumer() {
        let mut s = Stream::default();
        let a = s.add(10, 'a');
        s.read("c1", 10, 20, 1_000);
        let later = s.add(30, 'b');
        // c2 at t=1020: `a` has been idle exactly 1000 ms, so it is reclaimed
        // ahead of the new entry.
        let got = s.read("c2", 10, 1_020, 1_000);
        assert_eq!(ids(&got), [a.to_string(), later.to_string()]);
        assert_eq!(s.holder(a), Some("c2"));
        // Reclaiming reset the idle clock.
        assert!(s.read("c3", 10, 1_500, 1_000).is_empty());
    }

    #[test]
    fn count_bounds_reclaimed_plus_new() {
        let mut s = Stream::default();
        for t in 1..4 {
            s.add(t, t);
        }
        s.read("c1", 2, 10, 100);
        s.add(20, 20);
        let got = s.read("c2", 3, 200, 100);
        assert_eq!(ids(&got), ["1-0", "2-0", "3-0"]);
        let rest = s.read("c2", 3, 201, 100);
        assert_eq!(ids(&rest), ["20-0"]);
    }

    #[test]
    fn reclaim_drops_pending_ids_whose_entry_was_deleted() {
        let mut s = Stream::default();
        let a = s.add(1, 'a');
        s.read("c1", 1, 1, 0);
        s.entries.remove(&a);
        assert!(s.read("c2", 5, 100, 0).is_empty());
        assert_eq!(s.pending_len(), 0);
    }

    #[test]
    fn cursor_reads_are_exclusive_and_last_is_oldest_first() {
        let mut s = Stream::default();
        let a = s.add(5, 'a');
        s.add(5, 'b');
        s.add(6, 'c');
        let after_a = s.after_cursor(a, 10);
        assert_eq!(after_a.iter().map(|(_, v)| *v).collect::<String>(), "bc");
        assert_eq!(s.after_cursor(EntryId::default(), 2).len(), 2);
        assert_eq!(s.last(2), vec!['b', 'c']);
        assert_eq!(s.drain_front(2).len(), 2);
        assert_eq!(s.len(), 1);
    }
}
