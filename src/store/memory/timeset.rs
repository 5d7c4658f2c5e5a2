//! A set of members (jobs, or officials) ordered by a time score: the
//! in-memory stand-in for the delayed, in-flight and schedule ZSETs.
//!
//! Owns: membership and ordering (by score, then job id, like a ZSET's
//! lexicographic tie-break). Does not own: what the score means.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use crate::domain::JobId;

#[derive(Debug)]
pub(super) struct TimeSet<K = JobId> {
    scores: HashMap<K, i64>,
    order: BTreeSet<(i64, K)>,
}

impl<K> Default for TimeSet<K> {
    fn default() -> Self {
        Self {
            scores: HashMap::new(),
            order: BTreeSet::new(),
        }
    }
}

impl<K: Clone + Ord + Hash> TimeSet<K> {
    /// Adds a member or moves it to a new score (ZADD).
    pub fn insert(&mut self, job: &K, score_ms: i64) {
        if let Some(old) = self.scores.insert(job.clone(), score_ms) {
            self.order.remove(&(old, job.clone()));
        }
        self.order.insert((score_ms, job.clone()));
    }

    /// Removes a member (ZREM); true if it was there.
    pub fn remove(&mut self, job: &K) -> bool {
        match self.scores.remove(job) {
            Some(old) => self.order.remove(&(old, job.clone())),
            None => false,
        }
    }

    pub fn score(&self, job: &K) -> Option<i64> {
        self.scores.get(job).copied()
    }

    /// Up to `max` members with score <= `now_ms`, earliest first.
    pub fn due(&self, now_ms: i64, max: usize) -> Vec<K> {
        self.order
            .iter()
            .take_while(|(score, _)| *score <= now_ms)
            .take(max)
            .map(|(_, job)| job.clone())
            .collect()
    }

    /// The earliest score, if any.
    pub fn first(&self) -> Option<i64> {
        self.order.first().map(|(score, _)| *score)
    }

    pub fn len(&self) -> usize {
        self.scores.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(contact: &str) -> JobId {
        JobId::parse(&format!("camp/{contact}")).unwrap()
    }

    #[test]
    fn due_members_come_earliest_first_and_ties_by_id() {
        let mut s = TimeSet::default();
        s.insert(&job("c"), 30);
        s.insert(&job("b"), 10);
        s.insert(&job("a"), 10);
        s.insert(&job("late"), 100);
        assert_eq!(s.due(30, 10), vec![job("a"), job("b"), job("c")]);
        assert_eq!(s.due(30, 2), vec![job("a"), job("b")]);
        assert!(s.due(9, 10).is_empty());
    }

    #[test]
    fn reinsert_moves_the_member() {
        let mut s = TimeSet::default();
        s.insert(&job("a"), 10);
        s.insert(&job("a"), 50);
        assert_eq!(s.len(), 1);
        assert!(s.due(10, 10).is_empty());
        assert_eq!(s.score(&job("a")), Some(50));
        assert!(s.remove(&job("a")));
        assert!(!s.remove(&job("a")));
        assert!(s.due(100, 10).is_empty());
    }
}
