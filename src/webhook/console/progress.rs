//! The rate a campaign is finishing contacts at, as this console measures
//! it: each read of a campaign's counts is a sample (time, contacts
//! finished); the rate is the growth over the samples of the last
//! [`WINDOW`]. The store keeps no history of counts, so the rate is known
//! once the console has looked twice (the pages refresh every few seconds),
//! and each instance's console measures its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use crate::domain::CampaignId;

/// How far back the rate looks.
pub const WINDOW_MS: i64 = 10 * 60_000;
/// Samples closer together than this are not kept.
const MIN_GAP_MS: i64 = 1_000;
/// The shortest stretch a rate is given over.
const MIN_SPAN_MS: i64 = 2_000;
/// Campaigns followed at most (a campaign list of thousands is not a
/// dashboard); the least recently seen goes.
const MAX_CAMPAIGNS: usize = 1_000;

/// Finished contacts per minute, measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_minute: f64,
    /// Over how long it was measured.
    pub over_ms: i64,
}

#[derive(Default)]
pub struct Progress {
    samples: Mutex<HashMap<CampaignId, VecDeque<(i64, u64)>>>,
}

impl Progress {
    /// Records that `finished` contacts of `id` were finished at `now_ms`
    /// (the store's clock) and gives the rate, once there is one.
    pub fn observe(&self, id: &CampaignId, now_ms: i64, finished: u64) -> Option<Rate> {
        let mut all = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        if all.len() >= MAX_CAMPAIGNS && !all.contains_key(id) {
            let stalest = all
                .iter()
                .min_by_key(|(_, s)| s.back().map_or(i64::MIN, |(t, _)| *t))
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                all.remove(&k);
            }
        }
        let samples = all.entry(id.clone()).or_default();
        // Counts only grow; a drop means the data was reset: start again.
        if samples.back().is_some_and(|(_, f)| *f > finished) {
            samples.clear();
        }
        if samples
            .back()
            .is_none_or(|(t, _)| now_ms - *t >= MIN_GAP_MS)
        {
            samples.push_back((now_ms, finished));
        }
        while samples.len() > 2
            && samples
                .front()
                .is_some_and(|(t, _)| now_ms - *t > WINDOW_MS)
        {
            samples.pop_front();
        }
        let (t0, f0) = *samples.front()?;
        let over_ms = now_ms - t0;
        (over_ms >= MIN_SPAN_MS).then(|| Rate {
            per_minute: (finished.saturating_sub(f0)) as f64 * 60_000.0 / over_ms as f64,
            over_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_growth_over_the_window() {
        let p = Progress::default();
        let id = CampaignId::parse("c1").unwrap();
        assert_eq!(p.observe(&id, 0, 0), None);
        assert_eq!(p.observe(&id, 500, 1), None, "too close to measure");
        let r = p.observe(&id, 30_000, 10).unwrap();
        assert_eq!((r.per_minute, r.over_ms), (20.0, 30_000));
        // Old samples leave the window.
        p.observe(&id, 600_000, 100);
        let r = p.observe(&id, 660_000, 130).unwrap();
        assert_eq!((r.per_minute, r.over_ms), (30.0, 60_000));
        let r = p.observe(&id, 1_200_000, 190).unwrap();
        assert_eq!(r.over_ms, 600_000);
        assert!((r.per_minute - 9.0).abs() < 1e-9, "{r:?}");
        // A reset starts over.
        assert_eq!(p.observe(&id, 1_201_000, 0), None);
    }
}
