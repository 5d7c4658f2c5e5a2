//! The do-not-call import format, shared by `sampark dnc import` and
//! `POST /admin/dnc/import`: one number per line, or CSV lines
//! `phone[,reason[,expires]]`.
//!
//! - A number may be written in any form `PhoneNumber::from_indian_input`
//!   accepts (`+91…`, `0091…`, `0…`, a bare 10-digit mobile, …).
//! - `reason` is free text (at most [`MAX_REASON`] characters); `expires` is
//!   a date, an RFC 3339 time or a duration (see `expiry.rs`); either may be
//!   empty.
//! - A field may be double-quoted (to hold a comma; `""` is a quote). A
//!   field never spans lines.
//! - Blank lines and lines starting with `#` are skipped, and so is a first
//!   line naming the columns (`phone,reason,expires`).
//!
//! A bad line is reported with its line number (and never its number's
//! digits); every other line is kept.

use super::expiry::Expiry;
use crate::domain::PhoneNumber;

/// The longest reason accepted, in characters.
pub const MAX_REASON: usize = 200;

/// One good line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListLine {
    /// 1-based.
    pub line: usize,
    pub phone: PhoneNumber,
    pub reason: String,
    pub expires: Option<Expiry>,
}

/// Why a line was refused.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineProblem {
    /// 1-based.
    pub line: usize,
    pub error: String,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.error)
    }
}

/// A parsed import file: the good lines and the bad, each in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedList {
    pub entries: Vec<ListLine>,
    pub problems: Vec<LineProblem>,
}

/// Parses an import file.
pub fn parse_list(text: &str) -> ParsedList {
    let mut parsed = ParsedList::default();
    let mut seen_content = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = if index == 0 {
            raw.trim_start_matches('\u{feff}')
        } else {
            raw
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let first = !seen_content;
        seen_content = true;
        let fields = match split_fields(trimmed) {
            Ok(fields) => fields,
            Err(error) => {
                parsed.problems.push(LineProblem { line, error });
                continue;
            }
        };
        if first && is_header(&fields) {
            continue;
        }
        match parse_fields(line, &fields) {
            Ok(entry) => parsed.entries.push(entry),
            Err(error) => parsed.problems.push(LineProblem { line, error }),
        }
    }
    parsed
}

/// A reason as stored: trimmed, at most [`MAX_REASON`] characters, no
/// control characters.
pub fn check_reason(text: &str) -> Result<String, String> {
    let reason = text.trim();
    if reason.chars().count() > MAX_REASON {
        return Err(format!("the reason is longer than {MAX_REASON} characters"));
    }
    if reason.chars().any(char::is_control) {
        return Err("the reason contains a control character".into());
    }
    Ok(reason.to_owned())
}

fn is_header(fields: &[String]) -> bool {
    const COLUMNS: [&str; 3] = ["phone", "reason", "expires"];
    fields.len() <= COLUMNS.len()
        && fields
            .iter()
            .zip(COLUMNS)
            .all(|(field, name)| field.trim().eq_ignore_ascii_case(name))
}

fn parse_fields(line: usize, fields: &[String]) -> Result<ListLine, String> {
    if fields.len() > 3 {
        return Err(format!(
            "{} fields; a line is phone[,reason[,expires]] (quote a reason that holds a comma)",
            fields.len()
        ));
    }
    let field = |i: usize| fields.get(i).map(|f| f.trim()).unwrap_or("");
    let phone = PhoneNumber::from_indian_input(field(0)).map_err(|e| e.to_string())?;
    let reason = check_reason(field(1))?;
    let expires = match field(2) {
        "" => None,
        text => Some(Expiry::parse(text)?),
    };
    Ok(ListLine {
        line,
        phone,
        reason,
        expires,
    })
}

/// Splits one line into CSV fields (RFC 4180 quoting, within the line).
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() && !was_quoted => {
                field.clear();
                quoted = true;
                was_quoted = true;
            }
            (false, '"') => return Err("a quote inside an unquoted field".into()),
            (false, ',') => {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            (false, c) if was_quoted && !c.is_whitespace() => {
                return Err("text after a closing quote".into());
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed on its line".into());
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn numbers_alone_and_csv_lines_with_a_header_and_comments() {
        let text = "\u{feff}phone,reason,expires\r\n\
                    # citizens who asked by letter\n\
                    \n\
                    9876500001\n\
                    +91 98765 00002,asked by letter\n\
                    098765-00003,\"court order, case 12\",2026-12-31\n\
                    0091 9876500004,,30d\n";
        let parsed = parse_list(text);
        assert_eq!(parsed.problems, vec![]);
        let got: Vec<_> = parsed
            .entries
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.phone.clone(),
                    e.reason.as_str(),
                    e.expires.is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (4, phone("+919876500001"), "", false),
                (5, phone("+919876500002"), "asked by letter", false),
                (6, phone("+919876500003"), "court order, case 12", true),
                (7, phone("+919876500004"), "", true),
            ]
        );
    }

    #[test]
    fn every_bad_line_is_reported_by_number_without_its_digits() {
        let long = "x".repeat(MAX_REASON + 1);
        let text = format!(
            "9876500001\n\
             12345\n\
             9876500002,ok,someday\n\
             9876500003,a,2026-01-01,extra\n\
             \"9876500004,unclosed\n\
             9876500005,{long}\n\
             98765\"00006\n\
             9876500007,fine\n"
        );
        let parsed = parse_list(&text);
        let lines: Vec<usize> = parsed.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7]);
        assert_eq!(parsed.entries.len(), 2);
        assert_eq!(parsed.entries[1].line, 8);
        for p in &parsed.problems {
            assert!(!p.error.contains("98765"), "{p}");
            assert!(!p.to_string().is_empty());
        }
        assert!(parsed.problems[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn a_header_is_only_skipped_first() {
        let parsed = parse_list("9876500001\nphone\n");
        assert_eq!(parsed.entries.len(), 1);
        assert_eq!(parsed.problems.len(), 1);
        assert_eq!(parsed.problems[0].line, 2);
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(check_reason("  moved away "), Ok("moved away".into()));
        assert!(check_reason("bad\u{7}bell").is_err());
        assert!(check_reason(&"é".repeat(MAX_REASON)).is_ok());
    }
}
