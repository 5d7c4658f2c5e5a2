//! The calling window at fixed instants: Kolkata weekdays, weekends and
//! holidays, ranges across midnight, both DST transitions, validation and
//! serde. Property tests are in `window_props.rs`.

use std::io::Write;

use jiff::Timestamp;

use super::*;

/// An instant written in RFC 3339 (`2026-01-27T04:30:00Z`).
fn at(s: &str) -> i64 {
    s.parse::<Timestamp>().unwrap().as_millisecond()
}

pub(super) fn window(
    zone: &str,
    weekdays: &[&str],
    ranges: &[&str],
    holidays: &[&str],
) -> CallingWindow {
    let spec = WindowSpec {
        zone: zone.into(),
        weekdays: weekdays.iter().map(|s| (*s).to_owned()).collect(),
        ranges: ranges.iter().map(|s| (*s).to_owned()).collect(),
        holidays: holidays.iter().map(|s| (*s).to_owned()).collect(),
        holiday_files: Vec::new(),
    };
    CallingWindow::from_spec(&spec).unwrap()
}

pub(super) const WEEK: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WORKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri"];

/// Kolkata office hours with lunch; 2026-01-26 (a Monday) is Republic Day.
fn office() -> CallingWindow {
    window(
        "Asia/Kolkata",
        WORKDAYS,
        &["14:00-20:00", "09:00-13:00"],
        &["2026-01-26"],
    )
}

#[test]
fn kolkata_weekday_inside_and_between_ranges() {
    let w = office();
    // Tuesday 2026-01-27, 10:00 IST.
    let ten = at("2026-01-27T04:30:00Z");
    assert!(w.contains(ten));
    assert_eq!(w.next_open(ten), None);
    assert_eq!(w.closes_at(ten), Some(at("2026-01-27T07:30:00Z")));
    // 13:30 IST, lunch: opens at 14:00 IST.
    assert_eq!(
        w.next_open(at("2026-01-27T08:00:00Z")),
        Some(at("2026-01-27T08:30:00Z"))
    );
    assert_eq!(w.closes_at(at("2026-01-27T08:00:00Z")), None);
}

#[test]
fn kolkata_boundaries_are_half_open_to_the_millisecond() {
    let w = office();
    let nine = at("2026-01-27T03:30:00Z");
    assert_eq!(w.next_open(nine - 1), Some(nine));
    assert_eq!(w.next_open(nine), None);
    let eight_pm = at("2026-01-27T14:30:00Z");
    assert!(w.contains(eight_pm - 1));
    assert_eq!(w.closes_at(eight_pm - 1), Some(eight_pm));
    // Closed from 20:00 exactly until 09:00 Wednesday.
    assert_eq!(w.next_open(eight_pm), Some(at("2026-01-28T03:30:00Z")));
    assert_eq!(w.next_open(eight_pm + 1), Some(at("2026-01-28T03:30:00Z")));
}

#[test]
fn kolkata_weekend_and_holiday_are_skipped() {
    let w = office();
    // Saturday 2026-01-24 10:00 IST: Sunday is not a weekday, Monday the
    // 26th is Republic Day, so Tuesday 09:00 IST.
    let saturday = at("2026-01-24T04:30:00Z");
    assert!(!w.contains(saturday));
    assert_eq!(w.next_open(saturday), Some(at("2026-01-27T03:30:00Z")));
    assert!(!w.contains(at("2026-01-26T04:30:00Z")));
    // Friday 21:00 IST.
    assert_eq!(
        w.next_open(at("2026-01-23T15:30:00Z")),
        Some(at("2026-01-27T03:30:00Z"))
    );
    // Without the holiday, Monday.
    let plain = window("Asia/Kolkata", WORKDAYS, &["09:00-20:00"], &[]);
    assert_eq!(plain.next_open(saturday), Some(at("2026-01-26T03:30:00Z")));
}

#[test]
fn range_across_midnight_belongs_to_the_day_it_starts() {
    // Friday nights only, 22:00 to 02:00 IST.
    let w = window("Asia/Kolkata", &["fri"], &["22:00-02:00"], &["2026-01-30"]);
    let friday_2300 = at("2026-01-23T17:30:00Z");
    assert!(w.contains(friday_2300));
    assert_eq!(w.closes_at(friday_2300), Some(at("2026-01-23T20:30:00Z")));
    // Saturday 01:00 IST is still Friday's night.
    assert!(w.contains(at("2026-01-23T19:30:00Z")));
    // Friday 01:00 IST is Thursday's night: closed until Friday 22:00.
    assert_eq!(
        w.next_open(at("2026-01-22T19:30:00Z")),
        Some(at("2026-01-23T16:30:00Z"))
    );
    // Saturday 02:00 IST: the next Friday, the 30th, is a holiday.
    assert_eq!(
        w.next_open(at("2026-01-23T20:30:00Z")),
        Some(at("2026-02-06T16:30:00Z"))
    );
}

#[test]
fn touching_ranges_close_once_across_midnight() {
    let w = window("Asia/Kolkata", WEEK, &["20:00-24:00", "00:00-02:00"], &[]);
    // 21:00 IST on the 27th: open until 02:00 IST on the 28th.
    assert_eq!(
        w.closes_at(at("2026-01-27T15:30:00Z")),
        Some(at("2026-01-27T20:30:00Z"))
    );
}

#[test]
fn spring_forward_opens_at_the_first_valid_instant() {
    // New York skips 02:00-03:00 on 2026-03-08 (07:00Z is 03:00 EDT).
    let w = window("America/New_York", WEEK, &["02:30-05:00"], &[]);
    let jump = at("2026-03-08T07:00:00Z");
    assert_eq!(w.next_open(at("2026-03-08T06:00:00Z")), Some(jump));
    assert!(!w.contains(jump - 1));
    assert!(w.contains(jump));
    assert_eq!(w.closes_at(jump), Some(at("2026-03-08T09:00:00Z")));
    // The days around it open at 02:30 local: EST before, EDT after.
    assert_eq!(
        w.next_open(at("2026-03-07T00:00:00Z")),
        Some(at("2026-03-07T07:30:00Z"))
    );
    assert_eq!(
        w.next_open(at("2026-03-08T12:00:00Z")),
        Some(at("2026-03-09T06:30:00Z"))
    );

    // A range ending inside the gap closes at the jump; one wholly inside it
    // does not open that day.
    let early = window("America/New_York", WEEK, &["01:00-02:30"], &[]);
    assert_eq!(early.closes_at(at("2026-03-08T06:30:00Z")), Some(jump));
    let lost = window("America/New_York", WEEK, &["02:10-02:50"], &[]);
    assert_eq!(
        lost.next_open(at("2026-03-08T05:00:00Z")),
        Some(at("2026-03-09T06:10:00Z"))
    );

    // London jumps at 01:00Z on 2026-03-29 (01:00 GMT becomes 02:00 BST).
    let london = window("Europe/London", WEEK, &["01:30-03:00", "09:00-20:00"], &[]);
    assert_eq!(
        london.next_open(at("2026-03-29T00:00:00Z")),
        Some(at("2026-03-29T01:00:00Z"))
    );
    // 09:00 BST is 08:00Z.
    assert_eq!(
        london.next_open(at("2026-03-29T05:00:00Z")),
        Some(at("2026-03-29T08:00:00Z"))
    );
}

#[test]
fn fall_back_opens_once_at_the_first_occurrence() {
    // New York repeats 01:00-02:00 on 2026-11-01: EDT 05:00-06:00Z, then EST 06:00-07:00Z.
    let w = window("America/New_York", WEEK, &["01:30-01:45"], &[]);
    assert_eq!(
        w.next_open(at("2026-11-01T05:00:00Z")),
        Some(at("2026-11-01T05:30:00Z"))
    );
    assert_eq!(
        w.closes_at(at("2026-11-01T05:30:00Z")),
        Some(at("2026-11-01T05:45:00Z"))
    );
    // The second 01:30 (EST) is closed; next is 01:30 EST on the 2nd.
    assert!(!w.contains(at("2026-11-01T06:30:00Z")));
    assert_eq!(
        w.next_open(at("2026-11-01T06:30:00Z")),
        Some(at("2026-11-02T06:30:00Z"))
    );
    // A range spanning the repeated hour is one interval, an hour longer.
    let long = window("America/New_York", WEEK, &["01:00-09:00"], &[]);
    let open = at("2026-11-01T05:00:00Z");
    assert_eq!(long.next_open(open - 1), Some(open));
    assert!(long.contains(at("2026-11-01T06:30:00Z")));
    assert_eq!(long.closes_at(open), Some(at("2026-11-01T14:00:00Z")));
}

#[test]
fn local_day_follows_the_zone() {
    let kolkata = CallingWindow::default();
    // 23:59:59.999 IST on the 28th, then midnight.
    let midnight = at("2026-11-28T18:30:00Z");
    assert_eq!(kolkata.local_day(midnight - 1), 20261128);
    assert_eq!(kolkata.local_day(midnight), 20261129);
    let new_york = window("America/New_York", WEEK, &["09:00-17:00"], &[]);
    assert_eq!(new_york.local_day(at("2026-03-08T04:59:59Z")), 20260307);
    assert_eq!(new_york.local_day(at("2026-03-08T05:00:00Z")), 20260308);
    assert_eq!(CallingWindow::always().local_day(0), 19700101);
}

#[test]
fn always_open_never_closes_and_holidays_end_a_whole_day_window() {
    let always = CallingWindow::always();
    for t in [i64::MIN, -1, 0, at("2026-03-08T07:00:00Z"), i64::MAX] {
        assert!(always.contains(t));
        assert_eq!(always.next_open(t), None);
    }
    assert_eq!(always.closes_at(0), Some(i64::MAX));
    let christmas_off = window("Asia/Kolkata", WEEK, &["00:00-24:00"], &["2026-12-25"]);
    assert_eq!(
        christmas_off.closes_at(at("2026-01-01T00:00:00Z")),
        Some(at("2026-12-24T18:30:00Z"))
    );
    assert_eq!(
        christmas_off.next_open(at("2026-12-25T06:00:00Z")),
        Some(at("2026-12-25T18:30:00Z"))
    );
}

#[test]
fn a_holiday_ends_a_round_the_clock_window_after_the_night_before() {
    // The night range of the 9th runs into the 10th, a holiday, until 06:00.
    let w = window(
        "Asia/Kolkata",
        WEEK,
        &["22:00-06:00", "06:00-22:00"],
        &["2026-03-10"],
    );
    let close = at("2026-03-10T00:30:00Z");
    assert_eq!(w.closes_at(at("2026-02-01T00:00:00Z")), Some(close));
    assert!(w.contains(close - 1));
    // The 10th's own ranges do not apply: next is 06:00 IST on the 11th.
    assert_eq!(w.next_open(close), Some(at("2026-03-11T00:30:00Z")));
}

#[test]
fn defaults_agree() {
    assert_eq!(
        CallingWindow::from_spec(&WindowSpec::default()),
        Ok(CallingWindow::default())
    );
    let w = CallingWindow::default();
    assert_eq!(w.zone_name(), "Asia/Kolkata");
    assert_eq!(w.weekdays(), Weekdays::ALL);
}

#[test]
fn every_problem_is_listed() {
    let spec = WindowSpec {
        zone: "Asia/Kolkatta".into(),
        weekdays: vec!["mon".into(), "funday".into()],
        ranges: vec![
            "09:00-13:00".into(),
            "12:00-14:00".into(),
            "25:00-26:00".into(),
        ],
        holidays: vec!["2026-02-30".into()],
        holiday_files: vec!["/nonexistent/odisha.txt".into()],
    };
    let problems = CallingWindow::from_spec(&spec).unwrap_err();
    for prefix in [
        "zone: ",
        "weekdays[1]: ",
        "ranges: ",
        "ranges[2]: ",
        "holidays[0]: ",
        "holiday_files[0]: /nonexistent/odisha.txt",
    ] {
        assert_eq!(
            problems.iter().filter(|p| p.starts_with(prefix)).count(),
            1,
            "{prefix} in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 6, "{problems:#?}");

    let empty = WindowSpec {
        weekdays: vec![],
        ranges: vec![],
        zone: "Etc/Unknown".into(),
        ..WindowSpec::default()
    };
    let problems = CallingWindow::from_spec(&empty).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn holiday_files_are_read_and_bad_lines_reported() {
    let mut good = tempfile::NamedTempFile::new().unwrap();
    writeln!(good, "# test\n2026-01-26 # Republic Day\n2026-08-15").unwrap();
    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(bad, "2026-01-26\n15 Aug").unwrap();
    let spec = WindowSpec {
        holiday_files: vec![good.path().into()],
        holidays: vec!["2026-10-02".into()],
        ..WindowSpec::default()
    };
    assert_eq!(CallingWindow::from_spec(&spec).unwrap().holidays().len(), 3);
    let spec = WindowSpec {
        holiday_files: vec![good.path().into(), bad.path().into()],
        ..WindowSpec::default()
    };
    let problems = CallingWindow::from_spec(&spec).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].starts_with("holiday_files[1]: "),
        "{problems:#?}"
    );
    assert!(problems[0].contains("line 2"), "{problems:#?}");
}

#[test]
fn serialises_compactly_and_validates_when_read_back() {
    let w = window(
        "europe/london",
        &["Monday", "tue"],
        &["14:00-20:00", "09:00-13:00"],
        &["2026-12-25"],
    );
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(
        json,
        r#"{"zone":"Europe/London","weekdays":["mon","tue"],"ranges":["09:00-13:00","14:00-20:00"],"holidays":["2026-12-25"]}"#
    );
    assert_eq!(serde_json::from_str::<CallingWindow>(&json).unwrap(), w);
    let partial: CallingWindow = serde_json::from_str(r#"{"ranges":["10:00-12:00"]}"#).unwrap();
    assert_eq!(partial.zone_name(), "Asia/Kolkata");
    let err = serde_json::from_str::<CallingWindow>(
        r#"{"zone":"Mars/Base","ranges":["09:00-08:00","08:30-09:30"]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("2 problems: zone: "), "{err}");
    assert!(serde_json::from_str::<CallingWindow>(r#"{"zones":"UTC"}"#).is_err());
}
