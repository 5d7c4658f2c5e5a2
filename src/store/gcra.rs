//! The generic cell rate algorithm, as a pure function over integer
//! microseconds. The memory backend uses it directly; `lua/authorize.lua`
//! implements the same arithmetic, and tests compare both with `governor`.
//!
//! State is the theoretical arrival time (TAT). With emission interval `T`
//! (`quota.period`) and burst `b`, a dial at `now` conforms when
//! `tat <= now + (b - 1) * T`; then `tat = max(tat, now) + T`.

use super::Quota;

/// GCRA parameters in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gcra {
    pub emission_us: i64,
    /// `(burst - 1) * emission`: how far ahead of `now` the TAT may run.
    pub slack_us: i64,
}

impl Gcra {
    pub fn new(quota: Quota) -> Self {
        let emission_us = i64::try_from(quota.period.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        let burst = i64::from(quota.burst.max(1));
        Self {
            emission_us,
            slack_us: emission_us.saturating_mul(burst - 1),
        }
    }

    /// `Ok(new_tat)` when a cell at `now_us` conforms, else `Err(allow_at_us)`.
    pub fn check(&self, tat_us: Option<i64>, now_us: i64) -> Result<i64, i64> {
        let tat = tat_us.unwrap_or(now_us).max(now_us);
        let allow_at = tat - self.slack_us;
        if now_us < allow_at {
            Err(allow_at)
        } else {
            Ok(tat + self.emission_us)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use governor::clock::{Clock, FakeRelativeClock, Reference};
    use governor::{Quota as GQuota, RateLimiter};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn burst_then_one_per_period() {
        let g = Gcra::new(Quota {
            burst: 2,
            period: Duration::from_secs(1),
        });
        let t0 = 1_000_000;
        let tat = g.check(None, t0).unwrap();
        let tat = g.check(Some(tat), t0).unwrap();
        assert_eq!(g.check(Some(tat), t0), Err(t0 + 1_000_000));
        assert!(g.check(Some(tat), t0 + 1_000_000).is_ok());
    }

    proptest! {
        /// `governor` is the oracle: the same arrival times get the same verdicts.
        #[test]
        fn agrees_with_governor(
            burst in 1u32..6,
            period_ms in 1u64..500,
            gaps in proptest::collection::vec(0u64..400_000, 1..80),
        ) {
            let quota = Quota { burst, period: Duration::from_millis(period_ms) };
            let g = Gcra::new(quota);
            let clock = FakeRelativeClock::default();
            let gq = GQuota::with_period(Duration::from_millis(period_ms)).unwrap()
                .allow_burst(NonZeroU32::new(burst).unwrap());
            let limiter = RateLimiter::direct_with_clock(gq, clock.clone());
            let start = clock.now();
            let mut tat = None;
            let mut now_us: i64 = 0;
            for gap in gaps {
                clock.advance(Duration::from_micros(gap));
                now_us += gap as i64;
                prop_assert_eq!(clock.now().duration_since(start).as_u64() / 1000, now_us as u64);
                let ours = g.check(tat, now_us);
                let theirs = limiter.check();
                prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "at {}us", now_us);
                if let Ok(t) = ours { tat = Some(t); }
            }
        }
    }
}
