//! The two date formats the Twilio REST API speaks: RFC 2822 timestamps in
//! call resources (`Tue, 10 Aug 2010 08:02:17 +0000`) and `YYYY-MM-DD` UTC
//! days in list filters.
//!
//! Owns: conversion to and from Unix milliseconds. Does not own: any clock —
//! callers pass the instants (sampark's time comes from Redis).

use crate::domain::calendar::{civil_from_days, days_from_civil};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses an RFC 2822 date-time (day name optional; zone `+hhmm`/`-hhmm`,
/// `GMT`, `UT` or `UTC`) into Unix milliseconds.
pub fn parse_rfc2822_ms(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    // The optional leading day name ("Tue,") carries no information.
    let raw = raw.split_once(',').map_or(raw, |(_, rest)| rest);
    let mut parts = raw.split_whitespace();
    let day: i64 = parts.next()?.parse().ok()?;
    let month_name = parts.next()?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))? as i64
        + 1;
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = clock.next().map_or(Some(0), |s| s.parse().ok())?;
    let offset_secs = zone_offset_secs(parts.next()?)?;
    if parts.next().is_some()
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_secs;
    Some(secs * 1_000)
}

fn zone_offset_secs(zone: &str) -> Option<i64> {
    match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => return Some(0),
        _ => {}
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3_600 + minutes * 60))
}

/// The UTC day containing `unix_ms`, as `YYYY-MM-DD`.
pub fn utc_day(unix_ms: i64) -> String {
    let (year, month, day) = civil_from_days(unix_ms.div_euclid(86_400_000));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_twilio_timestamps() {
        // 2010-08-10T08:02:17Z, checked with `date -d ... +%s`.
        assert_eq!(
            parse_rfc2822_ms("Tue, 10 Aug 2010 08:02:17 +0000"),
            Some(1_281_427_337_000)
        );
        assert_eq!(
            parse_rfc2822_ms("10 Aug 2010 13:32:17 +0530"),
            Some(1_281_427_337_000)
        );
        assert_eq!(
            parse_rfc2822_ms("Tue, 10 Aug 2010 03:02:17 -0500"),
            Some(1_281_427_337_000)
        );
        assert_eq!(parse_rfc2822_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_rfc2822_ms("Sat, 29 Feb 2025 00:00:00 +0000"),
            Some(1_740_787_200_000),
            "day overflow is arithmetic, as in RFC 2822 readers that do not validate"
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "Tue, 10 Foo 2010 08:02:17 +0000",
            "Tue, 10 Aug 2010 25:02:17 +0000",
            "Tue, 10 Aug 2010 08:02:17",
            "Tue, 10 Aug 2010 08:02:17 +00",
            "Tue, 10 Aug 2010 08:02:17 +0000 extra",
            "2010-08-10T08:02:17Z",
        ] {
            assert_eq!(parse_rfc2822_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_utc_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_281_427_337_000), "2010-08-10");
        assert_eq!(utc_day(-1), "1969-12-31");
        assert_eq!(utc_day(1_709_164_800_000), "2024-02-29");
    }

    proptest! {
        #[test]
        fn formatted_timestamps_parse_back(secs in 0i64..8_000_000_000) {
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let rem = secs.rem_euclid(86_400);
            let text = format!(
                "{d:02} {} {y} {:02}:{:02}:{:02} +0000",
                MONTHS[(m - 1) as usize], rem / 3600, rem % 3600 / 60, rem % 60
            );
            prop_assert_eq!(parse_rfc2822_ms(&text), Some(secs * 1000));
        }
    }
}
