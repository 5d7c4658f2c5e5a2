//! When a campaign's remaining contacts would all have had a call, at the
//! current limits: the estimate `campaign status` shows.
//!
//! Each official's contacts go out at that official's quota (after its
//! burst), all of them together at most at the provider's calls per second,
//! and only while the calling window is open. Retries that calls not yet
//! made will need, department quotas and citizens' caps are not foreseen, so
//! the estimate is a lower bound for the first attempts.
//!
//! Owns: the arithmetic. Does not own: where the counts and limits come from.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Quotas;
use crate::domain::OfficialId;
use crate::policy::CallingWindow;

/// Open calling time needed for `remaining` contacts per official.
pub fn dial_time(
    remaining: &BTreeMap<OfficialId, u64>,
    quotas: &Quotas,
    provider_cps: Option<u32>,
) -> Duration {
    let per_official = remaining
        .iter()
        .map(|(official, &n)| {
            let quota = quotas.for_official(official);
            let after_burst = n.saturating_sub(u64::from(quota.burst));
            quota
                .period
                .saturating_mul(u32::try_from(after_burst).unwrap_or(u32::MAX))
        })
        .max()
        .unwrap_or_default();
    let total: u64 = remaining.values().sum();
    let provider = provider_cps
        .filter(|&cps| cps > 0)
        .map(|cps| Duration::from_millis(total.saturating_mul(1000) / u64::from(cps)))
        .unwrap_or_default();
    per_official.max(provider)
}

/// The instant (Unix ms) by which `needed` of open calling time has passed
/// after `now_ms`; `None` when the window never gives that much.
pub fn finish_at(window: &CallingWindow, now_ms: i64, needed: Duration) -> Option<i64> {
    let mut left = i64::try_from(needed.as_millis()).unwrap_or(i64::MAX);
    let mut at = now_ms;
    // Each pass crosses one closed stretch: a year of daily windows at most.
    for _ in 0..1_000 {
        if let Some(open) = window.next_open(at) {
            if open == i64::MAX {
                return None;
            }
            at = open;
        }
        let close = window.closes_at(at).unwrap_or(at);
        if close == i64::MAX || close - at >= left {
            return Some(at.saturating_add(left));
        }
        left -= close - at;
        at = close;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::policy::WindowSpec;
    use crate::store::Quota;

    fn at(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn quotas() -> Quotas {
        let mut overrides = HashMap::new();
        overrides.insert(
            OfficialId::parse("busy").unwrap(),
            Quota {
                burst: 1,
                period: Duration::from_secs(60),
            },
        );
        Quotas {
            default: Quota {
                burst: 5,
                period: Duration::from_secs(60),
            },
            overrides,
            departments: HashMap::new(),
        }
    }

    #[test]
    fn the_slowest_official_or_the_provider_decides() {
        let mut remaining = BTreeMap::new();
        remaining.insert(OfficialId::parse("a").unwrap(), 15);
        remaining.insert(OfficialId::parse("busy").unwrap(), 4);
        // a: 10 after its burst of 5, a minute each; busy: 3 after 1.
        assert_eq!(
            dial_time(&remaining, &quotas(), None),
            Duration::from_secs(600)
        );
        // 19 calls at one a second are faster than that; at 1 per 60 s not.
        assert_eq!(
            dial_time(&remaining, &quotas(), Some(1)),
            Duration::from_secs(600)
        );
        remaining.insert(OfficialId::parse("b").unwrap(), 2_000);
        assert_eq!(
            dial_time(&remaining, &quotas(), Some(100)),
            Duration::from_secs(1_995 * 60)
        );
        assert_eq!(
            dial_time(&BTreeMap::new(), &quotas(), Some(1)),
            Duration::ZERO
        );
    }

    #[test]
    fn closed_hours_are_skipped() {
        let window = CallingWindow::from_spec(&WindowSpec {
            ranges: vec!["09:00-13:00".into(), "14:00-18:00".into()],
            ..WindowSpec::default()
        })
        .unwrap();
        // 12:30 IST with 2 h of calling to do: 30 min before lunch, 1.5 h after.
        assert_eq!(
            finish_at(
                &window,
                at("2026-12-01T07:00:00Z"),
                Duration::from_secs(7_200)
            ),
            Some(at("2026-12-01T10:00:00Z"))
        );
        // 19:00 IST, after closing: 5 h = 4 h tomorrow morning + 1 h after lunch.
        assert_eq!(
            finish_at(
                &window,
                at("2026-12-01T13:30:00Z"),
                Duration::from_secs(5 * 3_600)
            ),
            Some(at("2026-12-02T09:30:00Z"))
        );
        assert_eq!(
            finish_at(&CallingWindow::always(), 1_000, Duration::from_secs(1)),
            Some(2_000)
        );
    }
}

/// The limits an estimate is made under (the daemon's settings).
#[derive(Clone, Debug)]
pub struct EtaLimits {
    pub quotas: Quotas,
    pub provider_cps: Option<u32>,
    /// The daemon's window, for campaigns without one of their own.
    pub hours: CallingWindow,
}

impl EtaLimits {
    pub fn of(config: &super::DialerConfig) -> EtaLimits {
        EtaLimits {
            quotas: config.quotas.clone(),
            provider_cps: config.provider_cps,
            hours: config.hours.clone(),
        }
    }
}

/// What the estimate assumes, in words.
pub const ETA_ASSUMES: &str = "first attempts at each official's quota and the provider's calls per \
second, inside the calling window; retries, department quotas and citizens' caps come on top";

/// The contacts ready to be dialled now and the estimate of the end, as
/// [`waiting_report`] and the console show them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Queued contacts neither waiting for a time nor parked.
    pub ready_now: u64,
    /// When every remaining contact would have had a first call (Unix ms);
    /// `None` without limits or when the window never opens long enough.
    pub eta_ms: Option<i64>,
}

/// [`Estimate`] of a campaign from its status and why its contacts wait.
pub fn estimate(
    status: &crate::store::CampaignStatus,
    waiting: &crate::store::Waiting,
    limits: Option<&EtaLimits>,
    now_ms: i64,
) -> Estimate {
    let queued = status.counts.get("queued").copied().unwrap_or(0);
    let queued_waiting: u64 = waiting
        .reasons
        .iter()
        .filter(|r| r.reason != crate::store::RETRY_DELAY)
        .map(|r| r.contacts)
        .sum();
    let ready = queued.saturating_sub(queued_waiting + waiting.parked);
    let remaining: BTreeMap<OfficialId, u64> = status
        .officials
        .iter()
        .map(|(official, states)| {
            let n = ["queued", "retry_wait"]
                .iter()
                .filter_map(|s| states.get(*s))
                .sum();
            (official.clone(), n)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let eta = limits.and_then(|limits| {
        let window = status
            .header
            .calling_window
            .as_ref()
            .unwrap_or(&limits.hours);
        let needed = dial_time(&remaining, &limits.quotas, limits.provider_cps);
        // Nothing can start before the first waiting contact is due.
        let start = waiting
            .next_due_ms()
            .filter(|_| ready == 0)
            .map_or(now_ms, |due| due.max(now_ms));
        finish_at(window, start, needed)
    });
    Estimate {
        ready_now: ready,
        eta_ms: eta,
    }
}

/// The waiting part of a campaign's status, as `campaign status --json` and
/// `GET /admin/campaigns/{id}` show it: why contacts wait and until when,
/// the contacts ready to be dialled now, and the estimate (`eta_ms`, with
/// what it assumes) when the limits are known.
pub fn waiting_report(
    status: &crate::store::CampaignStatus,
    waiting: &crate::store::Waiting,
    limits: Option<&EtaLimits>,
    now_ms: i64,
) -> serde_json::Value {
    let Estimate {
        ready_now: ready,
        eta_ms: eta,
    } = estimate(status, waiting, limits, now_ms);
    serde_json::json!({
        "ready_now": ready,
        "parked": waiting.parked,
        "reasons": waiting.reasons,
        "next_due_ms": waiting.next_due_ms(),
        "eta_ms": eta,
        "eta_assumes": ETA_ASSUMES,
    })
}
