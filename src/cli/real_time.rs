//! What the demo speeds up, and what the same campaign would take at the
//! shipped defaults: the demo finishes in seconds, a real campaign does not.
//!
//! Owns: the comparison and its wording. Does not own: the estimate's
//! arithmetic (`dialer::eta`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::config::Settings;
use crate::dialer::{DialerConfig, eta};
use crate::domain::OfficialId;

/// One setting the demo changes.
#[derive(Clone, Debug, Serialize)]
pub struct SpedUp {
    pub setting: &'static str,
    pub demo: String,
    pub default: String,
}

/// The demo against the defaults.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RealTime {
    pub sped_up: Vec<SpedUp>,
    /// Open calling time the campaign's first attempts need at the default
    /// quotas and provider rate (seconds).
    pub first_attempts_secs: u64,
    /// The default window's open hours a day.
    pub window_hours_per_day: f64,
}

fn per(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 1.0 {
        format!("1 per {secs:.0} s")
    } else {
        format!("{:.0} per s", 1.0 / secs)
    }
}

fn waits(backoff: &[Duration]) -> String {
    let parts: Vec<String> = backoff
        .iter()
        .map(|d| match d.as_millis() {
            ms if ms < 1_000 => format!("{ms} ms"),
            ms if ms < 120_000 => format!("{} s", ms / 1_000),
            ms if ms < 7_200_000 => format!("{} min", ms / 60_000),
            ms => format!("{} h", ms / 3_600_000),
        })
        .collect();
    parts.join(", ")
}

/// Compares the demo's dialer with the defaults' for `contacts` spread
/// evenly over `officials`.
pub fn compare(demo: &DialerConfig, contacts: usize, officials: usize) -> RealTime {
    let settings = Settings::default();
    let real = crate::daemon::dialer_config(&settings);
    let cps = |c: &DialerConfig| {
        c.provider_cps
            .map_or("no cap".into(), |n| format!("{n} per s"))
    };
    let quota = |c: &DialerConfig| {
        format!(
            "burst {}, then {}",
            c.quotas.default.burst,
            per(c.quotas.default.period)
        )
    };
    let window = |c: &DialerConfig| {
        if c.hours.ranges() == [crate::policy::DailyRange::whole_day()] {
            "always open".to_owned()
        } else {
            let ranges: Vec<String> = c.hours.ranges().iter().map(ToString::to_string).collect();
            format!("{} {}", ranges.join(", "), c.hours.zone_name())
        }
    };
    let sped_up = vec![
        SpedUp {
            setting: "rate.default (each official)",
            demo: quota(demo),
            default: quota(&real),
        },
        SpedUp {
            setting: "provider.calls_per_second",
            demo: cps(demo),
            default: cps(&real),
        },
        SpedUp {
            setting: "dialer.retry_backoff_secs",
            demo: waits(&demo.retry.backoff),
            default: waits(&real.retry.backoff),
        },
        SpedUp {
            setting: "policy.calling_window",
            demo: window(demo),
            default: window(&real),
        },
    ];
    let officials = officials.max(1);
    let remaining: BTreeMap<OfficialId, u64> = (0..officials)
        .filter_map(|i| {
            let n = contacts / officials + usize::from(i < contacts % officials);
            Some((OfficialId::parse(&format!("off-{i:02}")).ok()?, n as u64))
        })
        .collect();
    let needed = eta::dial_time(&remaining, &real.quotas, real.provider_cps);
    let open_ms: i64 = real
        .hours
        .ranges()
        .iter()
        .map(|r| {
            let minutes = if r.crosses_midnight() {
                1_440 - i64::from(r.start_min()) + i64::from(r.end_min())
            } else {
                i64::from(r.end_min()) - i64::from(r.start_min())
            };
            minutes * 60_000
        })
        .sum();
    RealTime {
        sped_up,
        first_attempts_secs: needed.as_secs(),
        window_hours_per_day: open_ms as f64 / 3_600_000.0,
    }
}

impl fmt::Display for RealTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "The demo runs fast on purpose. What it changes:")?;
        writeln!(f, "  {:<30} {:<26} default", "setting", "demo")?;
        for s in &self.sped_up {
            writeln!(f, "  {:<30} {:<26} {}", s.setting, s.demo, s.default)?;
        }
        let secs = self.first_attempts_secs;
        let needed = if secs < 5_400 {
            format!("{} min", secs.div_ceil(60))
        } else {
            format!("{:.1} h", secs as f64 / 3_600.0)
        };
        let days = secs as f64 / 3_600.0 / self.window_hours_per_day.max(f64::MIN_POSITIVE);
        let span = if days >= 1.0 {
            format!(
                ", about {days:.1} days of the {:.0}-hour calling window",
                self.window_hours_per_day
            )
        } else {
            String::new()
        };
        writeln!(
            f,
            "At the defaults, this campaign's first calls alone need {needed} of open calling time{span}; retries come on top."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::RetryPolicy;

    #[test]
    fn the_demo_says_what_it_speeds_up_and_what_the_defaults_would_take() {
        let mut demo = crate::daemon::dialer_config(&Settings::default());
        demo.provider_cps = None;
        demo.retry = RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_millis(300)],
        };
        // 60 contacts over 6 officials: 10 each, burst 5, then 1 a minute:
        // 5 minutes; 60 calls at 1 a second: 1 minute. The official decides.
        let r = compare(&demo, 60, 6);
        assert_eq!(r.first_attempts_secs, 300);
        assert_eq!(r.window_hours_per_day, 11.0);
        let text = r.to_string();
        let row = |setting: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(setting))
                .unwrap_or_else(|| panic!("no {setting} in {text}"))
                .split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(row("provider.calls_per_second"), "no cap 1 per s");
        assert_eq!(
            row("dialer.retry_backoff_secs"),
            "300 ms 5 min, 30 min, 2 h"
        );
        assert!(text.contains("need 5 min of open calling time;"), "{text}");
        // 5,000 contacts over 6 officials: 834 each, 829 minutes after the
        // burst, 13.8 h: more than a day's window.
        let big = compare(&demo, 5_000, 6).to_string();
        assert!(
            big.contains("13.8 h of open calling time, about 1.3 days"),
            "{big}"
        );
    }
}
