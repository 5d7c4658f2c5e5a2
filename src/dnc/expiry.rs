//! When a do-not-call entry lapses, as an operator writes it:
//!
//! | form | example | lapses |
//! |---|---|---|
//! | a date | `2026-12-31` | at the end of that day in India (midnight IST, UTC+05:30, after it) |
//! | an RFC 3339 time | `2026-12-31T18:00:00+05:30` | at that instant |
//! | a duration | `90d`, `12h`, `30m`, `45s` | that long after the entry is written (the store's clock) |
//!
//! The same forms serve `sampark dnc add --expires`, the import file's third
//! column and the admin API's `expires_at`.

use std::time::Duration;

use crate::domain::calendar::{civil_from_days, days_from_civil};
use crate::domain::{parse_duration, parse_rfc3339};

const DAY_MS: i64 = 86_400_000;
/// India Standard Time is UTC+05:30 all year (no daylight saving).
const IST_OFFSET_MS: i64 = (5 * 60 + 30) * 60_000;

/// An expiry as written: an instant, or a time from now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// At this instant (Unix ms).
    At(i64),
    /// This long after the entry is written.
    After(Duration),
}

impl Expiry {
    /// Parses one of the forms in the module header; `Err` says what was
    /// expected.
    pub fn parse(text: &str) -> Result<Expiry, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the expiry is empty".into());
        }
        if let Some(end_of_day) = end_of_date(text)? {
            return Ok(Expiry::At(end_of_day));
        }
        if text.len() >= 11 && text.as_bytes()[4] == b'-' {
            return parse_rfc3339(text).map(Expiry::At);
        }
        let after = parse_duration(text).map_err(|e| {
            format!(
                "{e} (an expiry is a date 2026-12-31, an RFC 3339 time, or a duration such as 90d)"
            )
        })?;
        if after.is_zero() {
            return Err(format!("{text:?}: an expiry must be later than now"));
        }
        Ok(Expiry::After(after))
    }

    /// The instant it stands for when the entry is written at `now_ms`.
    pub fn at(self, now_ms: i64) -> i64 {
        match self {
            Expiry::At(at) => at,
            Expiry::After(d) => {
                now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            }
        }
    }
}

/// An instant (Unix ms) as RFC 3339 in India Standard Time, for operators.
pub fn format_ist(ms: i64) -> String {
    let offset = i32::try_from(IST_OFFSET_MS / 1000).ok();
    match (
        jiff::Timestamp::from_millisecond(ms),
        offset.and_then(|s| jiff::tz::Offset::from_seconds(s).ok()),
    ) {
        (Ok(at), Some(offset)) => at.display_with_offset(offset).to_string(),
        _ => format!("{ms} (Unix ms)"),
    }
}

/// `YYYY-MM-DD` → midnight IST after that day (Unix ms); `None` when the
/// text is not shaped like a date, `Err` when it is but is not a real one.
fn end_of_date(text: &str) -> Result<Option<i64>, String> {
    let b = text.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Ok(None);
    }
    let num = |from: usize, to: usize| text[from..to].parse::<i64>().unwrap_or(-1);
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let days = days_from_civil(year, month, day);
    if !(1..=12).contains(&month) || civil_from_days(days) != (year, month, day) {
        return Err(format!("{text:?} is not a date on the calendar"));
    }
    Ok(Some((days + 1) * DAY_MS - IST_OFFSET_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_lasts_through_that_day_in_india() {
        // 2026-12-31 ends at 2027-01-01T00:00+05:30 = 2026-12-31T18:30Z.
        let end = parse_rfc3339("2026-12-31T18:30:00Z").unwrap();
        assert_eq!(Expiry::parse("2026-12-31"), Ok(Expiry::At(end)));
        assert_eq!(Expiry::parse(" 2026-12-31 "), Ok(Expiry::At(end)));
        assert!(
            Expiry::parse("2026-02-30")
                .unwrap_err()
                .contains("calendar")
        );
        assert!(Expiry::parse("2026-13-01").is_err());
    }

    #[test]
    fn instants_are_shown_in_india() {
        let at = parse_rfc3339("2026-12-31T18:30:00Z").unwrap();
        assert_eq!(format_ist(at), "2027-01-01T00:00:00+05:30");
    }

    #[test]
    fn times_and_durations() {
        let at = parse_rfc3339("2026-11-27T10:30:00+05:30").unwrap();
        assert_eq!(
            Expiry::parse("2026-11-27T10:30:00+05:30"),
            Ok(Expiry::At(at))
        );
        assert_eq!(
            Expiry::parse("90d"),
            Ok(Expiry::After(Duration::from_secs(90 * 86_400)))
        );
        assert_eq!(Expiry::parse("90d").unwrap().at(1_000), 1_000 + 90 * DAY_MS);
        assert_eq!(Expiry::At(5).at(1_000), 5);
    }

    #[test]
    fn nonsense_is_refused_with_a_reason() {
        for bad in ["", "soon", "0d", "12", "2026-11-27T10:30", "-3d"] {
            let e = Expiry::parse(bad).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        assert!(Expiry::parse("soon").unwrap_err().contains("90d"));
    }
}
