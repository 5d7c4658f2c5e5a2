//! A calling window as written in settings or a campaign document, and its
//! validation: [`CallingWindow::from_spec`] checks everything and lists every
//! problem, so the config file and campaign submission refuse a bad window
//! the same way.
//!
//! The serialised form of a [`CallingWindow`] is its spec with the holiday
//! files already read into `holidays` (compact JSON, e.g.
//! `{"zone":"Asia/Kolkata","weekdays":["mon","tue"],"ranges":["09:00-13:00"]}`),
//! so a stored window never depends on files; reading one back runs the same
//! validation.
//!
//! Owns: the spec schema, its defaults, zone and weekday names, and the
//! problem wording. Does not own: range and date syntax (`range.rs`,
//! `holidays.rs`), nor the window's arithmetic (`window.rs`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use jiff::civil::Weekday;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::holidays::{parse_date, read_holiday_file};
use super::range::DailyRange;
use super::window::{CallingWindow, Weekdays, bundled_zone};

const WEEKDAY_NAMES: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Monday),
    ("tue", "tuesday", Weekday::Tuesday),
    ("wed", "wednesday", Weekday::Wednesday),
    ("thu", "thursday", Weekday::Thursday),
    ("fri", "friday", Weekday::Friday),
    ("sat", "saturday", Weekday::Saturday),
    ("sun", "sunday", Weekday::Sunday),
];

/// `[policy.calling_window]`, or a campaign's `calling_window`. Every field
/// has a default, so a spec names only what differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowSpec {
    /// IANA time zone name. Default `Asia/Kolkata`.
    pub zone: String,
    /// Days calls are allowed on: `mon` … `sun` (or full names). Default all seven.
    pub weekdays: Vec<String>,
    /// Daily ranges `HH:MM-HH:MM`, local, half-open. Default `["09:00-20:00"]`.
    pub ranges: Vec<String>,
    /// Dates `YYYY-MM-DD` on which no call is placed. Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// Holiday files (`holidays.rs`). Relative paths are resolved by the
    /// reader: the settings against the configuration file's directory,
    /// `campaign submit` against the document's.
    /// Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holiday_files: Vec<PathBuf>,
}

impl Default for WindowSpec {
    fn default() -> Self {
        Self {
            zone: "Asia/Kolkata".into(),
            weekdays: WEEKDAY_NAMES
                .iter()
                .map(|(n, ..)| (*n).to_owned())
                .collect(),
            ranges: vec!["09:00-20:00".into()],
            holidays: Vec::new(),
            holiday_files: Vec::new(),
        }
    }
}

fn parse_weekday(name: &str) -> Result<Weekday, String> {
    let lower = name.trim().to_ascii_lowercase();
    WEEKDAY_NAMES
        .iter()
        .find(|(short, long, _)| lower == *short || lower == *long)
        .map(|(.., day)| *day)
        .ok_or_else(|| format!("{name:?} is not a weekday (mon, tue, wed, thu, fri, sat, sun)"))
}

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAY_NAMES
        .iter()
        .find(|(.., d)| *d == day)
        .map_or("mon", |(short, ..)| short)
}

/// Collects problems, each `field: reason`.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: impl std::fmt::Display, reason: impl std::fmt::Display) {
        self.0.push(format!("{field}: {reason}"));
    }
}

impl CallingWindow {
    /// Validates `spec` and reads its holiday files. `Err` lists every
    /// problem, each starting with the field it is about (`zone`,
    /// `weekdays[2]`, `ranges`, `holiday_files[0]`, …).
    pub fn from_spec(spec: &WindowSpec) -> Result<CallingWindow, Vec<String>> {
        let mut p = Problems::default();
        let zone = match (spec.zone.trim(), bundled_zone(spec.zone.trim())) {
            (name, _) if name.eq_ignore_ascii_case("Etc/Unknown") => {
                p.add("zone", format!("{name:?} is not a real time zone"));
                None
            }
            (_, Some(zone)) => Some(zone),
            (name, None) => {
                p.add(
                    "zone",
                    format!("{name:?} is not an IANA time zone name (e.g. Asia/Kolkata)"),
                );
                None
            }
        };
        let weekdays = check_weekdays(&spec.weekdays, &mut p);
        let ranges = check_ranges(&spec.ranges, &mut p);
        let holidays = check_holidays(spec, &mut p);
        match zone {
            Some(zone) if p.0.is_empty() => {
                let name = zone.iana_name().unwrap_or(spec.zone.trim()).to_owned();
                Ok(CallingWindow::from_checked_parts(
                    name, zone, weekdays, ranges, holidays,
                ))
            }
            _ => Err(p.0),
        }
    }

    /// The spec this window serialises as (holiday files already read into
    /// `holidays`).
    pub fn to_spec(&self) -> WindowSpec {
        WindowSpec {
            zone: self.zone_name().to_owned(),
            weekdays: self
                .weekdays()
                .iter()
                .map(|d| weekday_name(d).to_owned())
                .collect(),
            ranges: self.ranges().iter().map(ToString::to_string).collect(),
            holidays: self.holidays().iter().map(ToString::to_string).collect(),
            holiday_files: Vec::new(),
        }
    }
}

fn check_weekdays(names: &[String], p: &mut Problems) -> Weekdays {
    if names.is_empty() {
        p.add("weekdays", "none listed, so the window would never open");
    }
    let mut days = Weekdays::NONE;
    for (i, name) in names.iter().enumerate() {
        match parse_weekday(name) {
            Ok(day) => days = days.with(day),
            Err(reason) => p.add(format_args!("weekdays[{i}]"), reason),
        }
    }
    days
}

fn check_ranges(texts: &[String], p: &mut Problems) -> Vec<DailyRange> {
    if texts.is_empty() {
        p.add("ranges", "none listed, so the window would never open");
    }
    let mut ranges: Vec<DailyRange> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let range = match text.parse::<DailyRange>() {
            Ok(range) => range,
            Err(reason) => {
                p.add(format_args!("ranges[{i}]"), reason);
                continue;
            }
        };
        for earlier in ranges.iter().filter(|r| r.overlaps(range)) {
            p.add(
                "ranges",
                format!("{earlier} and {range} overlap (ranges are half-open: 09:00-13:00 and 13:00-20:00 may touch)"),
            );
        }
        ranges.push(range);
    }
    ranges
}

fn check_holidays(spec: &WindowSpec, p: &mut Problems) -> BTreeSet<jiff::civil::Date> {
    let mut dates = BTreeSet::new();
    for (i, text) in spec.holidays.iter().enumerate() {
        match parse_date(text.trim()) {
            Ok(date) => {
                dates.insert(date);
            }
            Err(reason) => p.add(format_args!("holidays[{i}]"), reason),
        }
    }
    for (i, path) in spec.holiday_files.iter().enumerate() {
        match read_holiday_file(path) {
            Ok(found) => dates.extend(found),
            Err(problems) => {
                for reason in problems {
                    p.add(format_args!("holiday_files[{i}]"), reason);
                }
            }
        }
    }
    dates
}

impl Serialize for CallingWindow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_spec().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CallingWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spec = WindowSpec::deserialize(d)?;
        CallingWindow::from_spec(&spec).map_err(|problems| {
            let message = match problems.as_slice() {
                [one] => one.clone(),
                many => format!("{} problems: {}", many.len(), many.join("; ")),
            };
            serde::de::Error::custom(message)
        })
    }
}
