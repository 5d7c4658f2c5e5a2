//! Property tests of the calling window against its definition: the opening
//! `next_open` gives is exact and nothing before it is open, `closes_at` is
//! exact, across random zones (with and without DST, near their changes of
//! offset), weekdays, ranges (some across midnight) and holidays; in zones
//! without DST, `contains` also agrees with a naive wall-clock oracle.

use jiff::Timestamp;
use proptest::prelude::*;

use super::window_tests::{WEEK, window};
use super::*;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// A random valid window: up to three ranges cut from the day and turned by
/// `turn` minutes (so some cross midnight), weekdays from a bit mask, and
/// holidays near `t`.
fn random_window(
    zone: &str,
    cuts: &[u16],
    turn: u16,
    mask: u8,
    holidays: &[i64],
    t: i64,
) -> CallingWindow {
    let mut points: Vec<u16> = cuts.iter().map(|c| c % 1441).collect();
    points.sort_unstable();
    points.dedup();
    let whole = points.len() >= 2 && points[0] == 0 && points[1] == 1440;
    let turn = if whole { 0 } else { turn % 1440 };
    let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    let ranges: Vec<String> = points
        .chunks_exact(2)
        .map(|p| {
            let (s, e) = ((p[0] + turn) % 1440, p[1] + turn);
            let e = if e > 1440 { e - 1440 } else { e };
            format!("{}-{}", hhmm(s), hhmm(e))
        })
        .collect();
    let weekdays: Vec<String> = (0..7)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| WEEK[b].to_owned())
        .collect();
    let day = |offset: i64| {
        let ts = Timestamp::from_millisecond(t + offset * 86_400_000).unwrap();
        jiff::tz::TimeZone::get(zone)
            .unwrap()
            .to_datetime(ts)
            .date()
            .to_string()
    };
    let spec = WindowSpec {
        zone: zone.into(),
        weekdays,
        ranges,
        holidays: holidays.iter().map(|&o| day(o)).collect(),
        holiday_files: Vec::new(),
    };
    CallingWindow::from_spec(&spec).unwrap()
}

/// Whether `t` is open by the naive wall-clock rule (right where the zone's
/// offset never changes).
fn naive_open(w: &CallingWindow, t: i64) -> bool {
    let tz = jiff::tz::TimeZone::get(w.zone_name()).unwrap();
    let local = tz.to_datetime(Timestamp::from_millisecond(t).unwrap());
    let (today, minute) = (
        local.date(),
        local.hour() as u16 * 60 + local.minute() as u16,
    );
    let calling =
        |d: jiff::civil::Date| w.weekdays().contains(d.weekday()) && !w.holidays().contains(&d);
    w.ranges().iter().any(|r| {
        let (s, e) = (r.start_min(), r.end_min());
        if r.crosses_midnight() {
            (calling(today) && minute >= s) || (calling(today.yesterday().unwrap()) && minute < e)
        } else {
            calling(today) && minute >= s && minute < e
        }
    })
}

const ZONES: &[&str] = &[
    "Asia/Kolkata",
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Pacific/Apia",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn next_open_is_exact_and_nothing_before_it_is_open(
        zone in prop::sample::select(ZONES),
        cuts in prop::collection::vec(0u16..=1440, 2..=6),
        turn in 0u16..1440,
        mask in 1u8..128,
        holidays in prop::collection::vec(-3i64..20, 0..4),
        // 2000-01-01 to 2040-01-01.
        t in 946_684_800_000i64..2_208_988_800_000,
        // Half the cases within a day and a half of a change of offset.
        near_change in any::<bool>(),
        shift in -36 * HOUR..36 * HOUR,
        samples in prop::collection::vec(0.0f64..1.0, 64),
    ) {
        prop_assume!(cuts.iter().map(|c| c % 1441).collect::<std::collections::BTreeSet<_>>().len() >= 2);
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let change = tz.following(Timestamp::from_millisecond(t).unwrap()).next();
        let t = match change {
            Some(change) if near_change => change.timestamp().as_millisecond() + shift,
            _ => t,
        };
        let w = random_window(zone, &cuts, turn, mask, &holidays, t);
        let date = tz.to_datetime(Timestamp::from_millisecond(t).unwrap()).date();
        prop_assert_eq!(
            w.local_day(t),
            date.year() as u32 * 10_000 + date.month() as u32 * 100 + date.day() as u32
        );
        if matches!(zone, "Asia/Kolkata" | "UTC") {
            prop_assert_eq!(w.contains(t), naive_open(&w, t));
        }
        match w.next_open(t) {
            Some(open) => {
                prop_assert!(!w.contains(t));
                prop_assert!(open > t && open < i64::MAX);
                prop_assert!(w.contains(open), "not open at its opening");
                prop_assert!(!w.contains(open - 1), "open just before its opening");
                prop_assert_eq!(w.closes_at(t), None);
                // Minutes between t and the opening, spread and random.
                let span = (open - t) as f64;
                for s in &samples {
                    let probe = t + (s * span) as i64;
                    let minute = probe - probe.rem_euclid(MINUTE);
                    for p in [probe, minute.max(t)] {
                        prop_assert!(!w.contains(p), "open at {} before next_open {}", p, open);
                    }
                }
            }
            None => {
                prop_assert!(w.contains(t));
                let close = w.closes_at(t).unwrap();
                prop_assert!(close > t);
                if close < i64::MAX {
                    prop_assert!(!w.contains(close), "open at its close");
                    prop_assert!(w.contains(close - 1), "closed just before its close");
                    let span = (close - t) as f64;
                    for s in &samples {
                        prop_assert!(w.contains(t + (s * span) as i64));
                    }
                }
            }
        }
    }

    #[test]
    fn a_round_the_clock_window_closes_exactly_at_a_holiday(
        zone in prop::sample::select(ZONES),
        ranges in prop::sample::select(vec![
            vec!["00:00-24:00"],
            vec!["22:00-06:00", "06:00-22:00"],
            vec!["00:00-12:00", "12:00-24:00"],
        ]),
        holidays in prop::collection::vec(-5i64..60, 0..3),
        t in 946_684_800_000i64..2_208_988_800_000,
        samples in prop::collection::vec(0.0f64..1.0, 32),
    ) {
        let tz = jiff::tz::TimeZone::get(zone).unwrap();
        let day = |offset: i64| {
            let ts = Timestamp::from_millisecond(t + offset * 86_400_000).unwrap();
            tz.to_datetime(ts).date().to_string()
        };
        let holidays: Vec<String> = holidays.iter().map(|&o| day(o)).collect();
        let holidays: Vec<&str> = holidays.iter().map(String::as_str).collect();
        let w = window(zone, WEEK, &ranges, &holidays);
        match w.closes_at(t) {
            Some(i64::MAX) => prop_assert!(holidays.iter().all(|h| h < &day(0).as_str())),
            Some(close) => {
                prop_assert!(close > t && !w.contains(close) && w.contains(close - 1));
                for s in &samples {
                    prop_assert!(w.contains(t + (s * (close - t) as f64) as i64));
                }
            }
            None => prop_assert!(!w.contains(t)),
        }
    }

    #[test]
    fn a_wait_of_at_most_a_day_ends_in_the_window(
        t in 946_684_800_000i64..2_208_988_800_000,
        start in 0u16..1440,
        len in 1u16..1440,
    ) {
        let end = (start + len) % 1440;
        let hhmm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        let w = window("Asia/Kolkata", WEEK, &[&format!("{}-{}", hhmm(start), hhmm(end))], &[]);
        if let Some(open) = w.next_open(t) {
            prop_assert!(open - t <= 24 * HOUR);
        }
    }
}
