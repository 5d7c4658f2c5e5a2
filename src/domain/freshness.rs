//! Freshness: when a contact may be called, relative to the visit it asks
//! about. A campaign sets `call_not_before` / `call_not_after` (durations
//! after the visit: `90s`, `30m`, `2h`, `3d`) and may set an absolute
//! `expires_at`; a contact carries `visit_at`. Both times are RFC 3339
//! (`2026-11-27T10:30:00+05:30`). The job spec stores the resulting window as
//! Unix milliseconds; the store enforces it at every authorisation and retry.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::calendar::days_from_civil;

/// A campaign's freshness rules; all optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// Not before this long after the visit (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_not_before_ms: Option<u64>,
    /// Not later than this long after the visit (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_not_after_ms: Option<u64>,
    /// No contact is dialled after this instant (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl Freshness {
    pub fn is_empty(&self) -> bool {
        *self == Freshness::default()
    }

    /// The window `(not_before, not_after)` (Unix ms) for a contact visited
    /// at `visit_at_ms`. Rules relative to the visit apply only when it is
    /// known.
    pub fn window(&self, visit_at_ms: Option<i64>) -> (Option<i64>, Option<i64>) {
        let after_visit = |d: Option<u64>| {
            visit_at_ms
                .zip(d)
                .map(|(visit, d)| visit.saturating_add(i64::try_from(d).unwrap_or(i64::MAX)))
        };
        let not_before = after_visit(self.call_not_before_ms);
        let not_after = match (after_visit(self.call_not_after_ms), self.expires_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (not_before, not_after)
    }
}

/// `90s`, `30m`, `2h`, `3d` (a whole number and one unit).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?} has no unit; write e.g. `2h` or `72h`"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} does not start with a whole number"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// An RFC 3339 date-time (`2026-11-27T10:30:00+05:30`, `…Z`, optional
/// fraction) as Unix milliseconds.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 time (e.g. 2026-11-27T10:30:00+05:30)");
    let trimmed = text.trim();
    let b = trimmed.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<i64, String> {
        std::str::from_utf8(&b[from..to])
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut at = 19;
    let mut millis = 0;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        at = start;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        if at == start {
            return Err(bad());
        }
        let digits = &trimmed[start..at.min(start + 3)];
        millis = format!("{digits:0<3}").parse().map_err(|_| bad())?;
    }
    let offset_min = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if at + 6 == b.len() && b[at + 3] == b':' => {
            let m = num(at + 1, at + 3)? * 60 + num(at + 4, at + 6)?;
            if *sign == b'-' { -m } else { m }
        }
        _ => return Err(bad()),
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    if !valid {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Ok(secs * 1_000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("3d"), Ok(Duration::from_secs(259_200)));
        assert!(parse_duration("2").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("2w").is_err());
    }

    #[test]
    fn rfc3339_times() {
        // 2026-11-28T00:00:00Z is 1795824000000 ms, so 05:00Z the day
        // before is 1795755600000.
        let utc = parse_rfc3339("2026-11-27T05:00:00Z").unwrap();
        assert_eq!(utc, 1_795_755_600_000);
        assert_eq!(parse_rfc3339("2026-11-27T10:30:00+05:30"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-11-26T23:00:00-06:00"), Ok(utc));
        assert_eq!(parse_rfc3339("2026-11-27T05:00:00.25Z"), Ok(utc + 250));
        for bad in [
            "2026-11-27",
            "2026-11-27T05:00:00",
            "2026-02-30T00:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T05:00:00+0530",
            "27/11/2026 10:30",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn window_from_the_visit_and_the_expiry() {
        let f = Freshness {
            call_not_before_ms: Some(7_200_000),
            call_not_after_ms: Some(259_200_000),
            expires_at_ms: Some(500_000_000),
        };
        assert_eq!(f.window(Some(0)), (Some(7_200_000), Some(259_200_000)));
        // The absolute expiry wins when it is sooner; without a visit only
        // it applies.
        assert_eq!(f.window(Some(400_000_000)).1, Some(500_000_000));
        assert_eq!(f.window(None), (None, Some(500_000_000)));
        assert_eq!(Freshness::default().window(Some(1)), (None, None));
    }
}
