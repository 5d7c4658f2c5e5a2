//! Citizens across campaigns: opt-outs, do-not-call entries and the rolling
//! call caps, keyed by citizen tag (never the number), as in Redis.
//!
//! Owns: the per-citizen maps and their arithmetic, and the do-not-call list
//! (put, remove, check, count; an entry lapses at its expiry, as the Redis
//! key does). Does not own: when a dial is authorised (`dial.rs`).

use std::collections::{HashMap, HashSet};

use crate::domain::PhoneNumber;
use crate::store::keys::CitizenKey;
use crate::store::{CitizenCaps, DncEntry, DncRequest, DncWrite};

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;

#[derive(Debug)]
pub(super) struct Citizens {
    key: CitizenKey,
    opt_outs: HashSet<String>,
    pub dnc: HashMap<String, DncEntry>,
    /// Placed calls per tag: (authorised at ms, `<job id>#<attempt>`).
    calls: HashMap<String, Vec<(i64, String)>>,
}

impl Default for Citizens {
    fn default() -> Self {
        Self {
            key: CitizenKey::development(),
            opt_outs: HashSet::new(),
            dnc: HashMap::new(),
            calls: HashMap::new(),
        }
    }
}

impl Citizens {
    pub fn tag(&self, phone: &PhoneNumber) -> String {
        self.key.tag(phone)
    }

    pub fn record_opt_out(&mut self, phone: &PhoneNumber) {
        let tag = self.tag(phone);
        self.opt_outs.insert(tag);
    }

    /// Puts a number on the do-not-call list (see `Store::dnc_put`).
    pub fn dnc_put(&mut self, request: &DncRequest, now_ms: i64) -> DncWrite {
        if request.expires_at_ms.is_some_and(|t| t <= now_ms) {
            return DncWrite::Lapsed;
        }
        let tag = self.tag(&request.phone);
        let earlier = self
            .dnc
            .get(&tag)
            .filter(|e| e.is_live(now_ms))
            .map(|e| e.added_at_ms);
        self.dnc.insert(
            tag,
            DncEntry {
                reason: request.reason.clone(),
                added_at_ms: earlier.unwrap_or(now_ms),
                expires_at_ms: request.expires_at_ms,
            },
        );
        if earlier.is_some() {
            DncWrite::Updated
        } else {
            DncWrite::Added
        }
    }

    /// Takes a number off the list; whether a live entry was there.
    pub fn dnc_remove(&mut self, phone: &PhoneNumber, now_ms: i64) -> bool {
        let tag = self.tag(phone);
        self.dnc.remove(&tag).is_some_and(|e| e.is_live(now_ms))
    }

    /// The number's live entry.
    pub fn dnc_check(&self, phone: &PhoneNumber, now_ms: i64) -> Option<DncEntry> {
        self.dnc
            .get(&self.tag(phone))
            .filter(|e| e.is_live(now_ms))
            .cloned()
    }

    /// Live entries; lapsed ones are dropped (as Redis expires their keys).
    pub fn dnc_count(&mut self, now_ms: i64) -> u64 {
        self.dnc.retain(|_, e| e.is_live(now_ms));
        self.dnc.len() as u64
    }

    /// Why the citizen must not be called, if so: a live do-not-call entry
    /// or an opt-out.
    pub fn refusal(&self, tag: &str, now_ms: i64) -> Option<String> {
        if let Some(entry) = self.dnc.get(tag).filter(|e| e.is_live(now_ms)) {
            return Some(if entry.reason.is_empty() {
                "on the do-not-call list".to_owned()
            } else {
                format!("on the do-not-call list: {}", entry.reason)
            });
        }
        self.opt_outs
            .contains(tag)
            .then(|| "citizen opted out earlier".to_owned())
    }

    /// When one more call fits the citizen's caps (`None`: now).
    pub fn cap_until(&mut self, tag: &str, now_ms: i64, caps: CitizenCaps) -> Option<i64> {
        if caps.per_day == 0 && caps.per_week == 0 {
            return None;
        }
        let calls = self.calls.entry(tag.to_owned()).or_default();
        calls.retain(|(at, _)| *at > now_ms - WEEK_MS);
        let mut times: Vec<i64> = calls.iter().map(|(at, _)| *at).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        let cap = |window: i64, max: u32| -> Option<i64> {
            let max = usize::try_from(max).ok().filter(|&m| m > 0)?;
            let in_window: Vec<i64> = times
                .iter()
                .copied()
                .filter(|&at| at >= now_ms - window)
                .collect();
            in_window.get(max - 1).map(|at| at + window + 1)
        };
        [cap(DAY_MS, caps.per_day), cap(WEEK_MS, caps.per_week)]
            .into_iter()
            .flatten()
            .max()
    }

    pub fn record_call(&mut self, tag: &str, now_ms: i64, member: String) {
        self.calls
            .entry(tag.to_owned())
            .or_default()
            .push((now_ms, member));
    }

    pub fn refund(&mut self, phone: &PhoneNumber, member: &str) {
        let tag = self.tag(phone);
        if let Some(calls) = self.calls.get_mut(&tag) {
            calls.retain(|(_, m)| m != member);
        }
    }
}
