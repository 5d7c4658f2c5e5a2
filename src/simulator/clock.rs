//! Wall-clock helpers in Twilio's formats: RFC 2822 timestamps in resources
//! and callbacks, and the date filters of the call list.
//!
//! Owns: civil-date arithmetic (no date crate is a dependency). Does not own:
//! simulated call time (see `call`).

use crate::domain::calendar::{civil_from_days, days_from_civil};
use std::time::{SystemTime, UNIX_EPOCH};

const DAY_NAMES: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MS_PER_DAY: i64 = 86_400_000;

/// Now, Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `Sat, 28 Nov 2026 13:00:00 +0000`, as Twilio writes dates.
pub(crate) fn rfc2822(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let secs = ms.rem_euclid(MS_PER_DAY) / 1000;
    let (y, m, d) = civil_from_days(days);
    // Day 0 (1970-01-01) was a Thursday.
    let weekday = DAY_NAMES[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let month = MONTH_NAMES[usize::try_from(m - 1).unwrap_or(0)];
    format!(
        "{weekday}, {d:02} {month} {y} {:02}:{:02}:{:02} +0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Parses a list filter date: `YYYY-MM-DD` (midnight UTC) or
/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` / `+00:00`. Returns Unix milliseconds.
pub(crate) fn parse_filter_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let date = s.get(..10)?;
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d) * MS_PER_DAY;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(day_ms);
    }
    let time = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let mut hms = time.splitn(3, ':');
    let h: i64 = hms.next()?.parse().ok()?;
    let mi: i64 = hms.next()?.parse().ok()?;
    let sec: f64 = hms.next().unwrap_or("0").parse().ok()?;
    if h > 23 || mi > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    // Truncation to whole milliseconds is the intent.
    let sec_ms = (sec * 1000.0) as i64;
    Some(day_ms + (h * 3600 + mi * 60) * 1000 + sec_ms)
}

/// The UTC day (Unix day number) a timestamp falls on.
pub(crate) fn day_of(ms: i64) -> i64 {
    ms.div_euclid(MS_PER_DAY)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn formats_like_twilio() {
        // 2026-11-28T13:00:00Z
        let ms = parse_filter_date("2026-11-28T13:00:00Z").unwrap();
        assert_eq!(rfc2822(ms), "Sat, 28 Nov 2026 13:00:00 +0000");
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 +0000");
    }

    #[test]
    fn parses_filter_dates() {
        assert_eq!(parse_filter_date("1970-01-02"), Some(MS_PER_DAY));
        assert_eq!(parse_filter_date("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(
            parse_filter_date("1970-01-01T01:00:00+00:00"),
            Some(3_600_000)
        );
        assert_eq!(parse_filter_date("1970-13-01"), None);
        assert_eq!(parse_filter_date("yesterday"), None);
        assert_eq!(parse_filter_date("1970-01-01T01:00:00+05:30"), None);
    }

    proptest! {
        #[test]
        fn civil_round_trips(days in -1_000_000i64..1_000_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
