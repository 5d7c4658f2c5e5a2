//! The calling window: when citizens may be called, in their time zone.
//!
//! Pure arithmetic on Unix milliseconds (the store's clock) with real tz data
//! (the IANA database bundled into the binary by `jiff`, so every instance of
//! the fleet computes the same instants whatever the host has installed).
//!
//! A window is a zone, the weekdays calls are allowed on, one or more daily
//! ranges (`range.rs`) and holiday dates. Each calling day `D` (an allowed
//! weekday that is not a holiday) contributes one interval per range,
//! `[open, close)` in instants, where `open` is the first instant at which
//! the wall clock in the zone reads `D` at the range's start or later, and
//! `close` likewise for its end (on `D + 1` for a range that crosses midnight
//! or ends at 24:00). The window is open at `t` iff some interval holds `t`.
//!
//! | local time on that date | instant used |
//! |---|---|
//! | exists once | that instant |
//! | skipped by a jump forward (DST starts) | the first instant after the gap (the transition) |
//! | repeated by a jump back (DST ends) | its first occurrence |
//!
//! So a range opening at 02:30 on the day New York skips 02:00–03:00 opens at
//! 03:00 EDT, a range in the repeated hour opens (and closes) once, at the
//! first pass, and a range lying wholly inside a skipped hour does not open
//! that day. In zones without DST (`Asia/Kolkata`) only the first row occurs.
//!
//! | at `t` | `contains` | `next_open` | `closes_at` |
//! |---|---|---|---|
//! | inside an interval | true | `None` | end of the run of touching intervals |
//! | outside every interval | false | `Some(next open)` | `None` |
//!
//! Owns: the window type and its instants. Does not own: parsing and
//! validating a window from settings or a campaign (`spec.rs`), nor acting on
//! it (the dialer).

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Bound;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};

use super::range::DailyRange;

const DAY_MS: i64 = 86_400_000;

/// A set of weekdays (bit 0 is Monday).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0b111_1111);
    pub const NONE: Weekdays = Weekdays(0);

    fn bit(day: Weekday) -> u8 {
        1 << day.to_monday_zero_offset()
    }

    pub fn with(self, day: Weekday) -> Weekdays {
        Weekdays(self.0 | Self::bit(day))
    }

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & Self::bit(day) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The days in the set, Monday first.
    pub fn iter(self) -> impl Iterator<Item = Weekday> {
        let monday = Weekday::Monday;
        (0..7)
            .map(move |n| monday.wrapping_add(n))
            .filter(move |d| self.contains(*d))
    }
}

impl fmt::Debug for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// When citizens may be called. Built by [`CallingWindow::from_spec`]
/// (validated: a known zone, at least one weekday, at least one range, no
/// overlaps), [`CallingWindow::always`], or `Default` (09:00–20:00 every day
/// in `Asia/Kolkata`).
#[derive(Clone)]
pub struct CallingWindow {
    zone_name: String,
    zone: TimeZone,
    weekdays: Weekdays,
    /// Sorted by start; non-empty; no two overlap on the 24-hour circle.
    ranges: Vec<DailyRange>,
    holidays: BTreeSet<Date>,
    /// Whole days, every day, no holidays: open at every instant, whatever
    /// the zone (also past the tz database's years).
    always_open: bool,
}

/// A zone from the bundled IANA database (never the host's copy).
pub(super) fn bundled_zone(name: &str) -> Option<TimeZone> {
    TimeZoneDatabase::bundled().get(name).ok()
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

fn at_minute(day: Date, minute: u16) -> Option<DateTime> {
    let (h, m) = (
        i8::try_from(minute / 60).ok()?,
        i8::try_from(minute % 60).ok()?,
    );
    Some(day.to_datetime(Time::new(h, m, 0, 0).ok()?))
}

impl CallingWindow {
    /// Assembles a window from parts `spec.rs` has already checked.
    pub(super) fn from_checked_parts(
        zone_name: String,
        zone: TimeZone,
        weekdays: Weekdays,
        mut ranges: Vec<DailyRange>,
        holidays: BTreeSet<Date>,
    ) -> CallingWindow {
        ranges.sort();
        let always_open =
            weekdays == Weekdays::ALL && holidays.is_empty() && ranges == [DailyRange::whole_day()];
        CallingWindow {
            zone_name,
            zone,
            weekdays,
            ranges,
            holidays,
            always_open,
        }
    }

    /// Open at every instant (the demo and tests use it).
    pub fn always() -> CallingWindow {
        Self::from_checked_parts(
            "UTC".into(),
            TimeZone::UTC,
            Weekdays::ALL,
            vec![DailyRange::whole_day()],
            BTreeSet::new(),
        )
    }

    /// The zone the window is in: the programme's time zone.
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The IANA name of the zone, e.g. `Asia/Kolkata`.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    pub fn weekdays(&self) -> Weekdays {
        self.weekdays
    }

    /// The daily ranges, sorted by start.
    pub fn ranges(&self) -> &[DailyRange] {
        &self.ranges
    }

    pub fn holidays(&self) -> &BTreeSet<Date> {
        &self.holidays
    }

    /// Whether calling is allowed at `at_ms`.
    pub fn contains(&self, at_ms: i64) -> bool {
        self.always_open || self.interval_holding(at_ms).is_some()
    }

    /// `None` when the window is open at `at_ms`; otherwise the exact instant
    /// it next opens. A validated window always opens again; `Some(i64::MAX)`
    /// ("never") is only returned past the tz database's years (±9999).
    pub fn next_open(&self, at_ms: i64) -> Option<i64> {
        if self.contains(at_ms) {
            return None;
        }
        Some(self.first_open_after(at_ms).unwrap_or(i64::MAX))
    }

    /// `None` when the window is closed at `at_ms`; otherwise the first
    /// instant after it at which the window is closed (ranges that touch,
    /// such as `09:00-13:00` and `13:00-20:00`, count as one). `Some(i64::MAX)`
    /// when it never closes (whole days, every weekday, no holiday ahead).
    pub fn closes_at(&self, at_ms: i64) -> Option<i64> {
        if self.always_open {
            return Some(i64::MAX);
        }
        let (_, mut close) = self.interval_holding(at_ms)?;
        while let Some((_, next)) = self.interval_holding(close) {
            close = next;
            if close - at_ms > 8 * DAY_MS {
                // Open for over a week without a break: every weekday is a
                // whole calling day, so only a holiday can close the window.
                // Go to the eve of the next one instead of walking day by day.
                match self.eve_of_next_holiday(close) {
                    Some(Some(eve)) => close = eve,
                    Some(None) => {}
                    None => return Some(i64::MAX),
                }
            }
        }
        Some(close)
    }

    /// The calendar day of `at_ms` in the zone as `YYYYMMDD` (the sampling
    /// day of `max_per_office_per_day`).
    pub fn local_day(&self, at_ms: i64) -> u32 {
        let date = self.local_date(at_ms);
        let ymd =
            i32::from(date.year()) * 10_000 + i32::from(date.month()) * 100 + i32::from(date.day());
        u32::try_from(ymd).unwrap_or(0)
    }

    fn local_date(&self, at_ms: i64) -> Date {
        self.zone.to_datetime(timestamp(at_ms)).date()
    }

    fn is_calling_day(&self, day: Date) -> bool {
        self.weekdays.contains(day.weekday()) && !self.holidays.contains(&day)
    }

    /// The first instant at which the wall clock reads `dt` or later (the
    /// table in the module header).
    fn instant_of(&self, dt: DateTime) -> Option<i64> {
        let ts = match self.zone.to_ambiguous_timestamp(dt).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok()?,
            AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok()?,
            AmbiguousOffset::Gap { after, .. } => {
                // Read with the later offset, `dt` names an instant just
                // before the jump; the jump itself is the next transition.
                let before_jump = after.to_timestamp(dt).ok()?;
                self.zone.following(before_jump).next()?.timestamp()
            }
        };
        Some(ts.as_millisecond())
    }

    /// `[open, close)` of `range` on calling day `day`.
    fn interval(&self, day: Date, range: DailyRange) -> Option<(i64, i64)> {
        let open = self.instant_of(at_minute(day, range.start_min())?)?;
        let end = range.end_min();
        let close_at = if range.crosses_midnight() || end == 24 * 60 {
            at_minute(day.tomorrow().ok()?, end % (24 * 60))?
        } else {
            at_minute(day, end)?
        };
        Some((open, self.instant_of(close_at)?))
    }

    /// The interval holding `at_ms`, if any. An interval of day `D` lies
    /// within `D` and `D + 1`; three days cover clocks set back over midnight.
    fn interval_holding(&self, at_ms: i64) -> Option<(i64, i64)> {
        let today = self.local_date(at_ms);
        let days = [today.yesterday().ok(), Some(today), today.tomorrow().ok()];
        days.into_iter()
            .flatten()
            .filter(|d| self.is_calling_day(*d))
            .flat_map(|d| self.ranges.iter().filter_map(move |&r| self.interval(d, r)))
            .find(|&(open, close)| open <= at_ms && at_ms < close)
    }

    /// The first non-empty interval opening after `at_ms`. Opens grow with
    /// (day, start), so the first found is the earliest. Each holiday can
    /// hide at most one week's calling days, which bounds the search.
    fn first_open_after(&self, at_ms: i64) -> Option<i64> {
        let search_days = 7 * (self.holidays.len() + 2) + 3;
        let mut day = self.local_date(at_ms).yesterday().ok()?;
        for _ in 0..search_days {
            if self.is_calling_day(day) {
                for &range in &self.ranges {
                    let (open, close) = self.interval(day, range)?;
                    if open > at_ms && open < close {
                        return Some(open);
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// For a window open all week: the start of the day before the first
    /// holiday on or after `at_ms`'s day (`Some(None)` when that eve is not
    /// after the day), or `None` when no holiday lies ahead.
    fn eve_of_next_holiday(&self, at_ms: i64) -> Option<Option<i64>> {
        let today = self.local_date(at_ms);
        let holiday = *self
            .holidays
            .range((Bound::Included(today), Bound::Unbounded))
            .next()?;
        let eve = holiday.yesterday().ok().filter(|eve| *eve > today);
        Some(eve.and_then(|eve| self.instant_of(at_minute(eve, 0)?)))
    }
}

impl Default for CallingWindow {
    /// 09:00–20:00 every day in `Asia/Kolkata`, no holidays.
    fn default() -> Self {
        // The bundled database has Asia/Kolkata; the fixed offset is the same
        // rule (India has kept +05:30 without DST since 1945).
        let ist =
            jiff::tz::Offset::from_seconds(5 * 3600 + 30 * 60).unwrap_or(jiff::tz::Offset::UTC);
        let zone = bundled_zone("Asia/Kolkata").unwrap_or_else(|| TimeZone::fixed(ist));
        Self::from_checked_parts(
            "Asia/Kolkata".into(),
            zone,
            Weekdays::ALL,
            vec![DailyRange::from_minutes(9 * 60, 20 * 60)],
            BTreeSet::new(),
        )
    }
}

impl PartialEq for CallingWindow {
    fn eq(&self, other: &Self) -> bool {
        self.zone_name == other.zone_name
            && self.weekdays == other.weekdays
            && self.ranges == other.ranges
            && self.holidays == other.holidays
    }
}

impl Eq for CallingWindow {}

impl fmt::Debug for CallingWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges: Vec<String> = self.ranges.iter().map(ToString::to_string).collect();
        f.debug_struct("CallingWindow")
            .field("zone", &self.zone_name)
            .field("weekdays", &self.weekdays)
            .field("ranges", &ranges)
            .field("holidays", &self.holidays.len())
            .finish()
    }
}
