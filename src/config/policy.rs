//! Dialling policy settings: calling hours (in the citizens' local time) and
//! the per-citizen daily cap, plus the clock arithmetic the dialer needs to
//! apply them to store time (Unix milliseconds from Redis `TIME`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

const DAY_MINUTES: u16 = 24 * 60;

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
    /// The dialer's form of the window (the arithmetic lives there).
    pub fn to_policy(&self) -> crate::dialer::CallingHours {
        crate::dialer::CallingHours {
            start_min: u32::from(self.start.0),
            end_min: u32::from(self.end.0) % u32::from(DAY_MINUTES),
            utc_offset_min: i32::from(self.utc_offset.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn converts_to_the_dialer_window() {
        let hours = CallingHours::default().to_policy();
        assert_eq!(
            (hours.start_min, hours.end_min, hours.utc_offset_min),
            (540, 1200, 330)
        );
        let whole_day = CallingHours {
            start: TimeOfDay(0),
            end: TimeOfDay(1440),
            utc_offset: UtcOffset(0),
        };
        assert_eq!(whole_day.to_policy().next_open(0), None);
    }
}
