//! `[rate]`: the per-official dial quota (a default and per-official
//! overrides) and the departments' shared quotas, turned into the store's
//! [`Quota`] for the GCRA script.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::OfficialId;
use crate::store::Quota;

/// One quota: `burst` dial starts at once, then one more every `per_secs`
/// seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    pub burst: u32,
    /// Seconds per additional dial start; fractions allowed (0.5 = 2/s).
    pub per_secs: f64,
}

impl RateLimit {
    /// `[rate.default]` when the file does not say: one officer rarely
    /// serves more than a few citizens an hour, so a small burst and a slow
    /// refill spread calls over the day.
    pub const BUILT_IN: RateLimit = RateLimit {
        burst: 5,
        per_secs: 60.0,
    };

    /// The store quota. Only meaningful once `Settings::validate` accepted
    /// the value (`per_secs` finite and positive); anything else is clamped
    /// to one millisecond so the limiter never divides by zero.
    pub fn quota(&self) -> Quota {
        let period = Duration::try_from_secs_f64(self.per_secs)
            .unwrap_or(Duration::from_millis(1))
            .max(Duration::from_millis(1));
        Quota {
            burst: self.burst.max(1),
            period,
        }
    }
}

/// `[rate]` with `[rate.default]`, `[rate.overrides."<official id>"]` and
/// `[rate.departments."<department>"]`. Any of these tables may give one
/// key only: `[rate.default]` takes the rest from [`RateLimit::BUILT_IN`],
/// an override or a department from `[rate.default]` as configured.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "RateTables")]
pub struct RateSettings {
    pub default: RateLimit,
    /// Official id → quota. Keys are checked as official ids by validation.
    pub overrides: BTreeMap<String, RateLimit>,
    /// Department (as campaigns name it) → a quota shared by all of the
    /// department's officials, fleet-wide. Departments not named have none.
    pub departments: BTreeMap<String, RateLimit>,
}

impl Default for RateSettings {
    fn default() -> Self {
        Self {
            default: RateLimit::BUILT_IN,
            overrides: BTreeMap::new(),
            departments: BTreeMap::new(),
        }
    }
}

/// A quota table as written: either key may be left out.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialLimit {
    burst: Option<u32>,
    per_secs: Option<f64>,
}

impl PartialLimit {
    fn or(self, base: RateLimit) -> RateLimit {
        RateLimit {
            burst: self.burst.unwrap_or(base.burst),
            per_secs: self.per_secs.unwrap_or(base.per_secs),
        }
    }
}

/// `[rate]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RateTables {
    default: PartialLimit,
    overrides: BTreeMap<String, PartialLimit>,
    departments: BTreeMap<String, PartialLimit>,
}

impl From<RateTables> for RateSettings {
    fn from(tables: RateTables) -> Self {
        let default = tables.default.or(RateLimit::BUILT_IN);
        let fill = |map: BTreeMap<String, PartialLimit>| {
            map.into_iter()
                .map(|(key, limit)| (key, limit.or(default)))
                .collect()
        };
        RateSettings {
            default,
            overrides: fill(tables.overrides),
            departments: fill(tables.departments),
        }
    }
}

impl RateSettings {
    /// The quota that applies to `official`: its override, else the default.
    pub fn quota_for(&self, official: &OfficialId) -> Quota {
        self.overrides
            .get(official.as_str())
            .unwrap_or(&self.default)
            .quota()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_over_default() {
        let mut rate = RateSettings::default();
        rate.overrides.insert(
            "off-17".into(),
            RateLimit {
                burst: 2,
                per_secs: 0.5,
            },
        );
        let q = rate.quota_for(&OfficialId::parse("off-17").unwrap());
        assert_eq!(q.burst, 2);
        assert_eq!(q.period, Duration::from_millis(500));
        let q = rate.quota_for(&OfficialId::parse("off-18").unwrap());
        assert_eq!(q.burst, 5);
        assert_eq!(q.period, Duration::from_secs(60));
    }

    #[test]
    fn invalid_values_are_clamped_not_panicking() {
        for per_secs in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let q = RateLimit { burst: 0, per_secs }.quota();
            assert_eq!(q.burst, 1);
            assert!(q.period >= Duration::from_millis(1));
        }
    }
}
