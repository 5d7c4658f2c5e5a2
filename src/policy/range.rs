//! A daily calling range, `HH:MM-HH:MM` in local wall-clock time.
//!
//! Half-open: `09:00-13:00` allows 09:00 and stops just before 13:00, so
//! `09:00-13:00` and `13:00-20:00` touch without overlapping. `24:00` may end
//! a range. A range whose end is not after its start (`22:00-02:00`) crosses
//! midnight and belongs to the day it starts on: the weekday and holiday rules
//! of that day decide it, its early hours run into the next day.
//!
//! Owns: parsing, display, and the overlap rule (ranges are arcs on the
//! 24-hour circle; two arcs that share a minute overlap, which also catches a
//! midnight range running into the next day's first range). Does not own:
//! turning ranges into instants (`window.rs`).

use std::fmt;
use std::str::FromStr;

const DAY_MIN: u16 = 24 * 60;

/// `[start, end)` in minutes after local midnight; `end <= start` crosses
/// midnight. Built only by parsing, so `start < 1440`, `end <= 1440` and
/// `start != end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DailyRange {
    start: u16,
    end: u16,
}

impl DailyRange {
    /// Minutes after midnight at which the range opens.
    pub fn start_min(self) -> u16 {
        self.start
    }

    /// Minutes after midnight at which it closes (on the next day when
    /// [`crosses_midnight`](Self::crosses_midnight)); 1440 is midnight ending the day.
    pub fn end_min(self) -> u16 {
        self.end
    }

    /// Whether the range runs past midnight into the next day.
    pub fn crosses_midnight(self) -> bool {
        self.end <= self.start
    }

    /// The whole day, `00:00-24:00`.
    pub const fn whole_day() -> DailyRange {
        DailyRange {
            start: 0,
            end: DAY_MIN,
        }
    }

    /// A range from minutes already known to be valid (defaults in code).
    pub(super) const fn from_minutes(start: u16, end: u16) -> DailyRange {
        DailyRange { start, end }
    }

    /// The minutes of the 24-hour circle the range covers, as at most two
    /// linear pieces `[a, b)`.
    fn pieces(self) -> [(u16, u16); 2] {
        if self.crosses_midnight() {
            [(self.start, DAY_MIN), (0, self.end)]
        } else {
            [(self.start, self.end), (0, 0)]
        }
    }

    /// Whether the two ranges share any minute of the day (including a
    /// midnight range's early hours against another range's start).
    pub fn overlaps(self, other: DailyRange) -> bool {
        self.pieces().iter().any(|&(a, b)| {
            other
                .pieces()
                .iter()
                .any(|&(c, d)| a < b && c < d && a < d && c < b)
        })
    }
}

fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h * 60 + m;
    (m < 60 && minutes <= DAY_MIN).then_some(minutes)
}

impl FromStr for DailyRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a range of the form HH:MM-HH:MM (00:00 to 24:00)");
        let (a, b) = s.trim().split_once('-').ok_or_else(bad)?;
        let (start, end) = (
            parse_time(a).ok_or_else(bad)?,
            parse_time(b).ok_or_else(bad)?,
        );
        if start == DAY_MIN {
            return Err(format!("{s:?} starts at 24:00; start it at 00:00"));
        }
        if start == end {
            return Err(format!(
                "{s:?} is empty (start equals end); write 00:00-24:00 for the whole day"
            ));
        }
        Ok(DailyRange { start, end })
    }
}

impl fmt::Display for DailyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, e) = (self.start, self.end);
        write!(f, "{:02}:{:02}-{:02}:{:02}", s / 60, s % 60, e / 60, e % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> DailyRange {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let day = r("09:00-20:00");
        assert_eq!((day.start_min(), day.end_min()), (540, 1200));
        assert!(!day.crosses_midnight());
        assert_eq!(r("00:00-24:00"), DailyRange::whole_day());
        assert!(r("22:00-02:00").crosses_midnight());
        assert!(r("22:00-00:00").crosses_midnight());
        assert_eq!(r(" 09:05-13:30 ").to_string(), "09:05-13:30");
        for bad in [
            "9:00-13:00",
            "09:00-24:01",
            "09:60-10:00",
            "09:00",
            "09:00-10:00-11:00",
            "+9:00-10:00",
            "24:00-02:00",
            "10:00-10:00",
            "00:00-00:00",
            "",
        ] {
            assert!(bad.parse::<DailyRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap_is_on_the_circle_and_half_open() {
        assert!(!r("09:00-13:00").overlaps(r("13:00-20:00")));
        assert!(r("09:00-13:00").overlaps(r("12:59-20:00")));
        assert!(r("09:00-13:00").overlaps(r("10:00-11:00")));
        // A midnight range's early hours meet the next day's first range.
        assert!(r("22:00-02:00").overlaps(r("01:00-05:00")));
        assert!(!r("22:00-02:00").overlaps(r("02:00-05:00")));
        assert!(r("22:00-02:00").overlaps(r("23:00-23:30")));
        assert!(!r("20:00-24:00").overlaps(r("00:00-09:00")));
        assert!(r("00:00-24:00").overlaps(r("05:00-06:00")));
    }
}
