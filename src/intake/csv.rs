//! Contacts as CSV, as spreadsheets export them, turned into the contact
//! objects of a version 1 campaign document.
//!
//! Read: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"),
//! CRLF, LF or CR line ends, `,` `;` or tab as the separator (whichever the
//! first line uses most; a first line `sep=;` names it, as Excel writes),
//! double-quoted fields holding separators, doubled quotes and line breaks.
//! Any other encoding is refused with the line and byte where it stops being
//! UTF-8 (a Windows-1252 "CSV (Comma delimited)" export, UTF-16 "Unicode
//! Text"): guessing an encoding would garble names silently.
//!
//! The first line names the columns, in any case: `id`, `phone`,
//! `official_id`, `office`, `service` are required, any other contact field
//! (`CONTACT_FIELDS`: `language`, `visit_at`) is optional and an empty cell
//! in it means absent. Other columns are refused, with a suggestion for a
//! near-miss: a whole column is never ignored. Every problem of the first
//! line is reported at once and refuses the file.
//!
//! Each later row is one contact. A row that cannot be read as one (a field
//! count other than the header's, text after a closing quote, a quote never
//! closed) is reported with its line and left out; the rest are returned.
//! Rows whose cells are all empty (blank lines, Excel's `;;;;`) are skipped.
//! Values are checked by the document parser, so CSV and JSON contacts get
//! the same checks; `phone` is first normalised to E.164 in the default
//! country, and left as written when that fails, for the parser to refuse
//! with its rule. Line numbers are the file's lines (the header is line 1),
//! a row's being the line it starts on.

use serde_json::{Map, Value};

use crate::domain::{CONTACT_FIELDS, DefaultCountry, did_you_mean};

/// A problem at a line of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

impl CsvError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        CsvError {
            line,
            message: message.into(),
        }
    }
}

/// The contacts of a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvContacts {
    /// One contact object per readable row, in file order.
    pub contacts: Vec<Value>,
    /// The line each contact's row starts on: `lines[i]` is `contacts[i]`'s.
    pub lines: Vec<usize>,
    /// Rows that could not be read as a contact, in file order (not in
    /// `contacts`).
    pub bad_rows: Vec<CsvError>,
    /// The separator the file uses.
    pub separator: char,
}

const REQUIRED: [&str; 5] = ["id", "phone", "official_id", "office", "service"];
/// At most this many encoding problems are listed (one per line).
const MAX_ENCODING_PROBLEMS: usize = 10;
const SAVE_AS_UTF8: &str = "in Excel, save it as \"CSV UTF-8 (Comma delimited)\"";

/// Reads the contacts of a CSV file. `Err`: the file cannot be read at all
/// (its encoding or its first line), with every problem.
pub fn read_contacts(bytes: &[u8], country: DefaultCountry) -> Result<CsvContacts, Vec<CsvError>> {
    let text = decode(bytes)?;
    let (separator, skip_line) = separator_of(text);
    let body = if skip_line {
        after_first_line(text)
    } else {
        text
    };
    let first_line = 1 + usize::from(skip_line);
    let mut records = parse_records(body, separator, first_line)
        .into_iter()
        .filter(|r| r.problem.is_some() || r.fields.iter().any(|f| !f.trim().is_empty()));
    let Some(header) = records.next() else {
        return Err(vec![CsvError::new(
            first_line,
            "the file has no rows; the first line must name the columns",
        )]);
    };
    let columns = columns(&header)?;
    let mut out = CsvContacts {
        contacts: Vec::new(),
        lines: Vec::new(),
        bad_rows: Vec::new(),
        separator,
    };
    for record in records {
        match contact(&record, &columns, separator, country) {
            Ok(contact) => {
                out.contacts.push(contact);
                out.lines.push(record.line);
            }
            Err(message) => out.bad_rows.push(CsvError::new(record.line, message)),
        }
    }
    Ok(out)
}

/// The text of the file: UTF-8, without its byte-order mark.
fn decode(bytes: &[u8]) -> Result<&str, Vec<CsvError>> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(vec![CsvError::new(
            1,
            format!("the file is UTF-16 (Excel's \"Unicode Text\"), not UTF-8: {SAVE_AS_UTF8}"),
        )]);
    }
    let bom = if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        3
    } else {
        0
    };
    match std::str::from_utf8(&bytes[bom..]) {
        Ok(text) => Ok(text),
        Err(_) => Err(encoding_problems(bytes, bom)),
    }
}

/// One problem per line holding bytes that are not UTF-8 (the first byte
/// of each line named), at most `MAX_ENCODING_PROBLEMS`.
fn encoding_problems(bytes: &[u8], from: usize) -> Vec<CsvError> {
    let mut problems = Vec::new();
    let (mut lines_with_bytes, mut last_bad_line) = (0, 0);
    let (mut line, mut line_start, mut counted_to) = (1, 0, 0);
    let mut at = from;
    while let Err(e) = std::str::from_utf8(&bytes[at..]) {
        let bad = at + e.valid_up_to();
        for i in counted_to..bad {
            // Line ends as the parser counts them: LF, or a CR not before LF.
            let end = bytes[i] == b'\n' || (bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if end {
                line += 1;
                line_start = i + 1;
            }
        }
        counted_to = bad;
        let already = last_bad_line == line;
        last_bad_line = line;
        if !already && lines_with_bytes < MAX_ENCODING_PROBLEMS {
            problems.push(CsvError::new(
                line,
                format!(
                    "byte {} of the line (byte {} of the file) is 0x{:02X}, which is not UTF-8",
                    bad - line_start + 1,
                    bad + 1,
                    bytes[bad]
                ),
            ));
        }
        if !already {
            lines_with_bytes += 1;
        }
        // An incomplete sequence at the very end has no length: stop there.
        match e.error_len() {
            Some(len) if bad + len < bytes.len() => at = bad + len,
            _ => break,
        }
    }
    if let Some(first) = problems.first_mut() {
        first.message.push_str(&format!(
            ": the file is not UTF-8 ({lines_with_bytes} line(s) have such bytes; probably a \
             Windows-1252 export, Excel's \"CSV (Comma delimited)\"): {SAVE_AS_UTF8}"
        ));
    }
    problems
}

/// The separator, and whether the first line only names it (`sep=;`).
fn separator_of(text: &str) -> (char, bool) {
    let first = text.split(['\n', '\r']).next().unwrap_or("");
    if let Some(named) = first.strip_prefix("sep=")
        && let [sep] = named.chars().collect::<Vec<_>>()[..]
    {
        return (sep, true);
    }
    let mut counts = [(',', 0usize), (';', 0), ('\t', 0)];
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            c if !quoted => {
                if let Some(entry) = counts.iter_mut().find(|(s, _)| *s == c) {
                    entry.1 += 1;
                }
            }
            _ => {}
        }
    }
    // The most used; on a tie the earlier in the list (`,` first).
    let best = counts
        .iter()
        .fold(counts[0], |best, c| if c.1 > best.1 { *c } else { best });
    (best.0, false)
}

/// `text` after its first line end (CRLF, LF or CR).
fn after_first_line(text: &str) -> &str {
    match text.find(['\n', '\r']) {
        Some(end) if text[end..].starts_with("\r\n") => &text[end + 2..],
        Some(end) => &text[end + 1..],
        None => "",
    }
}

/// One row: the line it starts on, its fields, and what is wrong with it.
#[derive(Debug)]
struct Record {
    line: usize,
    fields: Vec<String>,
    problem: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    FieldStart,
    Unquoted,
    Quoted,
    AfterQuote,
}

/// Splits text into records (RFC 4180, with `separator`), numbering lines
/// from `first_line`.
fn parse_records(text: &str, separator: char, first_line: usize) -> Vec<Record> {
    let mut records = Vec::new();
    let mut record = Record {
        line: first_line,
        fields: Vec::new(),
        problem: None,
    };
    let mut field = String::new();
    let mut at = At::FieldStart;
    let mut line = first_line;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let newline = c == '\n' || c == '\r';
        if c == '\r' && chars.peek() == Some(&'\n') {
            chars.next();
        }
        if newline {
            line += 1;
        }
        match (at, c) {
            (At::Quoted, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (At::Quoted, '"') => at = At::AfterQuote,
            (At::Quoted, _) if newline => field.push('\n'),
            (At::Quoted, c) => field.push(c),
            (At::FieldStart, '"') => at = At::Quoted,
            (_, c) if c == separator => {
                record.fields.push(std::mem::take(&mut field));
                at = At::FieldStart;
            }
            (_, _) if newline => {
                record.fields.push(std::mem::take(&mut field));
                let next = Record {
                    line,
                    fields: Vec::new(),
                    problem: None,
                };
                records.push(std::mem::replace(&mut record, next));
                at = At::FieldStart;
            }
            (At::AfterQuote, c) => {
                record.problem.get_or_insert_with(|| {
                    format!(
                        "field {}: text after its closing quote (a quote inside a quoted \
                         field is written twice: \"\")",
                        record.fields.len() + 1
                    )
                });
                field.push(c);
            }
            (_, c) => {
                field.push(c);
                at = At::Unquoted;
            }
        }
    }
    if at == At::Quoted {
        // The last line that has text: a final line end starts no line.
        let last = line - usize::from(text.ends_with(['\n', '\r']));
        record.problem = Some(format!(
            "field {}: its opening quote is never closed (the rest of the file, to line {last}, \
             was read into it)",
            record.fields.len() + 1
        ));
    }
    if at != At::FieldStart || !field.is_empty() || !record.fields.is_empty() {
        record.fields.push(field);
        records.push(record);
    }
    records
}

/// The header's column names (lower case; `None` for an unnamed column), or
/// every problem with it.
fn columns(header: &Record) -> Result<Vec<Option<String>>, Vec<CsvError>> {
    let line = header.line;
    let mut problems = Vec::new();
    if let Some(problem) = &header.problem {
        problems.push(CsvError::new(line, problem.clone()));
    }
    let names: Vec<Option<String>> = header
        .fields
        .iter()
        .map(|f| Some(f.trim().to_lowercase()).filter(|n| !n.is_empty()))
        .collect();
    for (i, name) in names.iter().enumerate() {
        let Some(name) = name else { continue };
        if !CONTACT_FIELDS.contains(&name.as_str()) {
            let hint = did_you_mean(name, CONTACT_FIELDS)
                .map(|known| format!(" (did you mean {known:?}?)"))
                .unwrap_or_default();
            problems.push(CsvError::new(
                line,
                format!(
                    "unknown column {name:?}{hint}; the columns are {}",
                    CONTACT_FIELDS.join(", ")
                ),
            ));
        } else if names[..i].contains(&Some(name.clone())) {
            problems.push(CsvError::new(
                line,
                format!("column {name:?} appears twice"),
            ));
        }
    }
    for name in REQUIRED {
        if !names.iter().any(|n| n.as_deref() == Some(name)) {
            problems.push(CsvError::new(line, format!("missing column {name:?}")));
        }
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(problems)
    }
}

/// The contact object of a row, or why the row cannot be one.
fn contact(
    record: &Record,
    columns: &[Option<String>],
    separator: char,
    country: DefaultCountry,
) -> Result<Value, String> {
    if let Some(problem) = &record.problem {
        return Err(problem.clone());
    }
    let fields = &record.fields;
    // Extra empty cells at the end (trailing separators) are harmless.
    let extra_empty =
        fields.len() > columns.len() && fields[columns.len()..].iter().all(|f| f.trim().is_empty());
    if fields.len() != columns.len() && !extra_empty {
        let shown = match separator {
            '\t' => "tab".to_owned(),
            s => format!("`{s}`"),
        };
        return Err(format!(
            "{} field(s), but the header has {} (a value holding the separator {shown} must be \
             in double quotes)",
            fields.len(),
            columns.len()
        ));
    }
    let mut object = Map::new();
    for (i, (name, value)) in columns.iter().zip(fields).enumerate() {
        let value = value.trim();
        let Some(name) = name else {
            if value.is_empty() {
                continue;
            }
            return Err(format!(
                "field {} has a value, but its column has no name in the header",
                i + 1
            ));
        };
        if value.is_empty() && !REQUIRED.contains(&name.as_str()) {
            continue;
        }
        let value = match name.as_str() {
            // A refused number stays as written, for the parser's reason.
            "phone" => country
                .normalise(value)
                .map_or_else(|_| value.to_owned(), |p| p.as_str().to_owned()),
            _ => value.to_owned(),
        };
        object.insert(name.clone(), Value::String(value));
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;
