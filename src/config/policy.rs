//! Dialling policy settings: calling hours (in the citizens' local time) and
//! the per-citizen daily cap, plus the clock arithmetic the dialer needs to
//! apply them to store time (Unix milliseconds from Redis `TIME`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

const MINUTE_MS: i64 = 60_000;
const DAY_MINUTES: u16 = 24 * 60;
const DAY_MS: i64 = DAY_MINUTES as i64 * MINUTE_MS;

/// `[policy]`: who may be called when, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySettings {
    pub calling_hours: CallingHours,
    /// Calls placed to one phone number per local day, across all campaigns.
    pub max_calls_per_citizen_per_day: u32,
}

impl Default for PolicySettings {
    fn default() -> Self {
        Self {
            calling_hours: CallingHours::default(),
            max_calls_per_citizen_per_day: 2,
        }
    }
}

/// A time of day as minutes after local midnight, written `HH:MM`.
/// `24:00` is accepted so a window can run to the end of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl FromStr for TimeOfDay {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a time of day of the form HH:MM (00:00 to 24:00)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        let minutes = h * 60 + m;
        if h > 24 || m > 59 || minutes > DAY_MINUTES {
            return Err(bad());
        }
        Ok(Self(minutes))
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// A fixed offset from UTC, written `+HH:MM` or `-HH:MM` (India is `+05:30`).
/// Fixed because the programme's time zones have no daylight saving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcOffset(i16);

impl UtcOffset {
    pub fn minutes(self) -> i16 {
        self.0
    }

    fn millis(self) -> i64 {
        i64::from(self.0) * MINUTE_MS
    }
}

impl FromStr for UtcOffset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a UTC offset of the form +HH:MM or -HH:MM");
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'+') => (1, &s[1..]),
            Some(b'-') => (-1, &s[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = rest.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: i16 = h.parse().map_err(|_| bad())?;
        let m: i16 = m.parse().map_err(|_| bad())?;
        let minutes = sign * (h * 60 + m);
        // Real offsets run from -12:00 to +14:00.
        if m > 59 || !(-12 * 60..=14 * 60).contains(&minutes) {
            return Err(bad());
        }
        Ok(Self(minutes))
    }
}

impl fmt::Display for UtcOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
    }
}

macro_rules! deserialize_from_str {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
deserialize_from_str!(TimeOfDay);
deserialize_from_str!(UtcOffset);

/// The daily window `[start, end)` in local time during which citizens may
/// be called. `start < end` is checked by `Settings::validate`: a window
/// across midnight is refused because no one should be called at night.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallingHours {
    pub start: TimeOfDay,
    pub end: TimeOfDay,
    pub utc_offset: UtcOffset,
}

impl Default for CallingHours {
    fn default() -> Self {
        Self {
            start: TimeOfDay(9 * 60),
            end: TimeOfDay(20 * 60),
            utc_offset: UtcOffset(5 * 60 + 30),
        }
    }
}

impl CallingHours {
    /// Whether a call may start at `unix_ms`.
    pub fn contains(&self, unix_ms: i64) -> bool {
        let minute = self.local_minute(unix_ms);
        self.start.0 <= minute && minute < self.end.0
    }

    /// The earliest time at or after `unix_ms` when a call may start: `unix_ms`
    /// itself inside the window, else the next opening.
    pub fn next_open_ms(&self, unix_ms: i64) -> i64 {
        if self.contains(unix_ms) {
            return unix_ms;
        }
        let local = unix_ms + self.utc_offset.millis();
        let midnight = local - local.rem_euclid(DAY_MS);
        let mut opening = midnight + i64::from(self.start.0) * MINUTE_MS;
        if opening <= local {
            opening += DAY_MS;
        }
        opening - self.utc_offset.millis()
    }

    /// The local calendar day of `unix_ms`, as days since 1970-01-01 local
    /// time: the key of the per-citizen daily cap.
    pub fn local_day(&self, unix_ms: i64) -> u32 {
        let days = (unix_ms + self.utc_offset.millis()).div_euclid(DAY_MS);
        // Store time is after 1970 and before year 11 million 758 thousand.
        u32::try_from(days.max(0)).unwrap_or(u32::MAX)
    }

    fn local_minute(&self, unix_ms: i64) -> u16 {
        let minute = (unix_ms + self.utc_offset.millis()).rem_euclid(DAY_MS) / MINUTE_MS;
        // INVARIANT: rem_euclid(DAY_MS) / MINUTE_MS is in 0..1440.
        u16::try_from(minute).expect("minute of day fits in u16")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-15T00:00:00Z in Unix milliseconds.
    const JAN15_UTC: i64 = 1_768_435_200_000;

    fn at(h: i64, m: i64) -> i64 {
        JAN15_UTC + (h * 60 + m) * MINUTE_MS
    }

    #[test]
    fn parses_times_and_offsets() {
        assert_eq!("09:00".parse::<TimeOfDay>().unwrap().minutes(), 540);
        assert_eq!("24:00".parse::<TimeOfDay>().unwrap().minutes(), 1440);
        for bad in ["9:00", "24:01", "12:60", "noon", "12-00", ""] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
        assert_eq!("+05:30".parse::<UtcOffset>().unwrap().minutes(), 330);
        assert_eq!("-03:00".parse::<UtcOffset>().unwrap().minutes(), -180);
        for bad in ["05:30", "+5:30", "+15:00", "-12:30", "+05:75"] {
            assert!(bad.parse::<UtcOffset>().is_err(), "{bad}");
        }
        assert_eq!(UtcOffset(-90).to_string(), "-01:30");
        assert_eq!(TimeOfDay(545).to_string(), "09:05");
    }

    #[test]
    fn window_is_applied_in_local_time() {
        let hours = CallingHours::default(); // 09:00–20:00 at +05:30
        // 03:29 UTC is 08:59 IST: closed; 03:30 UTC is 09:00 IST: open.
        assert!(!hours.contains(at(3, 29)));
        assert!(hours.contains(at(3, 30)));
        // 14:29 UTC is 19:59 IST: open; 14:30 UTC is 20:00 IST: closed.
        assert!(hours.contains(at(14, 29)));
        assert!(!hours.contains(at(14, 30)));
    }

    #[test]
    fn next_opening_is_today_or_tomorrow() {
        let hours = CallingHours::default();
        assert_eq!(hours.next_open_ms(at(10, 0)), at(10, 0));
        // Before opening (02:00 UTC = 07:30 IST): today at 09:00 IST.
        assert_eq!(hours.next_open_ms(at(2, 0)), at(3, 30));
        // After closing (15:00 UTC = 20:30 IST): tomorrow at 09:00 IST.
        assert_eq!(hours.next_open_ms(at(15, 0)), at(24 + 3, 30));
        // 20:00 UTC is 01:30 IST the next local day: that day at 09:00 IST.
        assert_eq!(hours.next_open_ms(at(20, 0)), at(24 + 3, 30));
    }

    #[test]
    fn local_day_follows_the_offset() {
        let hours = CallingHours::default();
        let day = hours.local_day(at(0, 0));
        // 18:29 UTC is 23:59 IST, same local day; 18:30 UTC is the next.
        assert_eq!(hours.local_day(at(18, 29)), day);
        assert_eq!(hours.local_day(at(18, 30)), day + 1);
        assert_eq!(day, 20_468);
    }
}
