//! CSV text as spreadsheets export it, shared by the readers of contacts
//! (`csv.rs`) and of the officials' registry (`registry::`): the encoding,
//! the separator and RFC 4180 records with the line each starts on.
//!
//! Read: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"),
//! CRLF, LF or CR line ends, `,` `;` or tab as the separator (whichever the
//! first line uses most; a first line `sep=;` names it, as Excel writes),
//! double-quoted fields holding separators, doubled quotes and line breaks.
//! Any other encoding is refused with the line and byte where it stops being
//! UTF-8 (a Windows-1252 "CSV (Comma delimited)" export, UTF-16 "Unicode
//! Text"): guessing an encoding would garble names silently. What the
//! columns mean is the caller's.

/// A problem at a line of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

impl CsvError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        CsvError {
            line,
            message: message.into(),
        }
    }
}

/// At most this many encoding problems are listed (one per line).
const MAX_ENCODING_PROBLEMS: usize = 10;
const SAVE_AS_UTF8: &str = "in Excel, save it as \"CSV UTF-8 (Comma delimited)\"";

/// The records of a CSV file, blank ones left out.
#[derive(Debug)]
pub(crate) struct CsvRecords {
    pub separator: char,
    /// The line the first record would start on (2 after a `sep=` line).
    pub first_line: usize,
    /// Every record with a non-blank cell or a problem, in file order.
    pub records: Vec<CsvRecord>,
}

/// Splits a file into records. `Err`: its encoding, with every problem.
pub(crate) fn read_records(bytes: &[u8]) -> Result<CsvRecords, Vec<CsvError>> {
    let text = decode(bytes)?;
    let (separator, skip_line) = separator_of(text);
    let body = if skip_line {
        after_first_line(text)
    } else {
        text
    };
    let first_line = 1 + usize::from(skip_line);
    let records = parse_records(body, separator, first_line)
        .into_iter()
        .filter(|r| r.problem.is_some() || r.fields.iter().any(|f| !f.trim().is_empty()))
        .collect();
    Ok(CsvRecords {
        separator,
        first_line,
        records,
    })
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
pub(crate) struct CsvRecord {
    pub line: usize,
    pub fields: Vec<String>,
    pub problem: Option<String>,
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
fn parse_records(text: &str, separator: char, first_line: usize) -> Vec<CsvRecord> {
    let mut records = Vec::new();
    let mut record = CsvRecord {
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
                let next = CsvRecord {
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
