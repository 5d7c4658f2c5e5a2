//! Holiday dates: `YYYY-MM-DD` strings and holiday files.
//!
//! A holiday file is plain UTF-8 text, one date a line, anything after `#`
//! a comment (the holiday's name, by convention), blank lines ignored:
//!
//! ```text
//! # Odisha, 2026
//! 2026-01-26  # Republic Day
//! ```
//!
//! Owns: the date syntax and the file format, with a problem per bad line.
//! Does not own: what a holiday means for the window (`window.rs`).

use std::path::Path;

use jiff::civil::Date;

/// Parses a date written `YYYY-MM-DD` (a real calendar date, years 1000–9999).
pub fn parse_date(s: &str) -> Result<Date, String> {
    let bad = || format!("{s:?} is not a date of the form YYYY-MM-DD");
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return Err(bad());
    }
    let (y, m, d) = (s[0..4].parse(), s[5..7].parse(), s[8..10].parse());
    let (Ok(y), Ok(m), Ok(d)) = (y, m, d) else {
        return Err(bad());
    };
    if y < 1000 {
        return Err(bad());
    }
    Date::new(y, m, d).map_err(|_| format!("{s:?} is not a calendar date"))
}

/// The dates in a holiday file's text; `Err` lists every bad line
/// (`line N: reason`).
pub fn parse_holiday_text(text: &str) -> Result<Vec<Date>, Vec<String>> {
    let mut dates = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line
            .split_once('#')
            .map_or(line, |(before, _)| before)
            .trim();
        if entry.is_empty() {
            continue;
        }
        match parse_date(entry) {
            Ok(date) => dates.push(date),
            Err(reason) => problems.push(format!("line {}: {reason}", i + 1)),
        }
    }
    if problems.is_empty() {
        Ok(dates)
    } else {
        Err(problems)
    }
}

/// Reads a holiday file (relative paths are from the working directory).
/// `Err` lists every problem, each naming the file.
pub fn read_holiday_file(path: &Path) -> Result<Vec<Date>, Vec<String>> {
    let shown = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| vec![format!("{shown}: cannot be read: {e}")])?;
    parse_holiday_text(&text).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| format!("{shown} {p}"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("2026-01-26"), Ok(date(2026, 1, 26)));
        assert_eq!(parse_date("2028-02-29"), Ok(date(2028, 2, 29)));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "26-01-2026",
            "2026/01/26",
            "2026-1-26",
            "20260126",
            "0999-01-01",
            "2026-01-26T00:00",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_text_with_comments_and_every_bad_line() {
        let text = "# header\n\n2026-01-26  # Republic Day\n2026-08-15\n   # indented comment\n";
        assert_eq!(
            parse_holiday_text(text),
            Ok(vec![date(2026, 1, 26), date(2026, 8, 15)])
        );
        let errors =
            parse_holiday_text("2026-01-26\n26 Jan\n2026-02-30 # no such day\n").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("line 2:"), "{errors:?}");
        assert!(errors[1].starts_with("line 3:"), "{errors:?}");
    }

    #[test]
    fn unreadable_file_is_named() {
        let errors = read_holiday_file(Path::new("/nonexistent/holidays.txt")).unwrap_err();
        assert!(
            errors[0].starts_with("/nonexistent/holidays.txt: cannot be read"),
            "{errors:?}"
        );
    }

    #[test]
    fn shipped_odisha_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/holidays/odisha-2026.txt");
        let dates = read_holiday_file(&path).unwrap();
        assert!(dates.contains(&date(2026, 4, 1)), "Utkala Dibasa");
        assert!(dates.iter().all(|d| d.year() == 2026));
    }
}
