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
//! columns mean is the caller's. `RecordStream` reads records one at a time
//! from characters streamed off a file (`utf8_chars.rs`), so a file of any
//! size is read in constant memory.
//!
//! Limits: a field holds at most `MAX_FIELD_BYTES`, a record at most
//! `MAX_FIELDS` fields and `MAX_RECORD_BYTES` in all. A record over one is
//! read to its end but not kept: it comes back with its line and a problem
//! naming the limit, its fields cut short (a quote never closed reads the
//! rest of the file into one field, and is still reported as that).

use super::utf8_chars::{Utf8Chars, encoding_problems};

/// The longest field, in bytes (as `domain::json_guard` bounds a JSON
/// string).
pub const MAX_FIELD_BYTES: usize = 4096;
/// The most fields in one record (a contacts file has seven columns).
pub const MAX_FIELDS: usize = 64;
/// The longest record, in bytes, its separators and line breaks counted.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

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

/// The records of a CSV file, blank ones left out.
#[derive(Debug)]
pub(crate) struct CsvRecords {
    /// The line the first record would start on (2 after a `sep=` line).
    pub first_line: usize,
    /// Every record with a non-blank cell or a problem, in file order.
    pub records: Vec<CsvRecord>,
}

/// Splits a file into records. `Err`: its encoding, with every problem.
pub(crate) fn read_records(bytes: &[u8]) -> Result<CsvRecords, Vec<CsvError>> {
    let problems = encoding_problems(bytes).map_err(|e| vec![e])?;
    if !problems.is_empty() {
        return Err(problems);
    }
    // INVARIANT: no encoding problem, so the text is UTF-8 (after any BOM).
    let stream = RecordStream::new(Utf8Chars::new(bytes).map_err(|e| vec![e])?);
    Ok(CsvRecords {
        first_line: stream.first_line,
        records: stream.collect(),
    })
}

/// The records of a CSV text read character by character, blank ones left
/// out: a file of any size in constant memory.
pub(crate) struct RecordStream<'a> {
    pub separator: char,
    /// The line the first record starts on (2 after a `sep=` line).
    pub first_line: usize,
    records: Records<Box<dyn Iterator<Item = char> + 'a>>,
}

impl<'a> RecordStream<'a> {
    /// Reads the first line to find the separator, then streams records.
    pub(crate) fn new(chars: impl Iterator<Item = char> + 'a) -> Self {
        let mut chars = chars.peekable();
        let mut first: Vec<char> = Vec::new();
        // Only the separator is looked for here: a longer first line is
        // read on, by the records, without it.
        while first.len() < MAX_RECORD_BYTES
            && let Some(c) = chars.next()
        {
            first.push(c);
            if c == '\r' && chars.peek() == Some(&'\n') {
                first.extend(chars.next());
            }
            if c == '\n' || c == '\r' {
                break;
            }
        }
        let first_text: String = first.iter().collect();
        let (separator, skip_line) = separator_of(&first_text);
        let first_line = 1 + usize::from(skip_line);
        if skip_line {
            first.clear();
        }
        let chars: Box<dyn Iterator<Item = char> + 'a> = Box::new(first.into_iter().chain(chars));
        RecordStream {
            separator,
            first_line,
            records: Records::new(chars, separator, first_line),
        }
    }
}

impl Iterator for RecordStream<'_> {
    type Item = CsvRecord;

    fn next(&mut self) -> Option<CsvRecord> {
        self.records
            .by_ref()
            .find(|r| r.problem.is_some() || r.fields.iter().any(|f| !f.trim().is_empty()))
    }
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

/// Records (RFC 4180, with `separator`) of a text read character by
/// character, lines numbered from `first_line`; blank records included.
struct Records<I: Iterator<Item = char>> {
    chars: std::iter::Peekable<I>,
    separator: char,
    line: usize,
    /// The last character read was a line end.
    after_newline: bool,
    done: bool,
}

impl<I: Iterator<Item = char>> Records<I> {
    fn new(chars: I, separator: char, first_line: usize) -> Self {
        Records {
            chars: chars.peekable(),
            separator,
            line: first_line,
            after_newline: false,
            done: false,
        }
    }
}

impl<I: Iterator<Item = char>> Iterator for Records<I> {
    type Item = CsvRecord;

    fn next(&mut self) -> Option<CsvRecord> {
        if self.done {
            return None;
        }
        let mut record = Building {
            line: self.line,
            fields: Vec::new(),
            count: 0,
            bytes: 0,
            problem: None,
        };
        let mut field = Field::default();
        let mut at = At::FieldStart;
        while let Some(c) = self.chars.next() {
            let newline = c == '\n' || c == '\r';
            if c == '\r' && self.chars.peek() == Some(&'\n') {
                self.chars.next();
                record.bytes += 1;
            }
            record.bytes += c.len_utf8();
            if newline {
                self.line += 1;
            }
            self.after_newline = newline;
            match (at, c) {
                (At::Quoted, '"') if self.chars.peek() == Some(&'"') => {
                    self.chars.next();
                    record.bytes += 1;
                    field.push('"');
                }
                (At::Quoted, '"') => at = At::AfterQuote,
                (At::Quoted, _) if newline => field.push('\n'),
                (At::Quoted, c) => field.push(c),
                (At::FieldStart, '"') => at = At::Quoted,
                (_, c) if c == self.separator => {
                    record.end_field(std::mem::take(&mut field));
                    at = At::FieldStart;
                }
                (_, _) if newline => {
                    record.end_field(field);
                    return Some(record.finish());
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
        self.done = true;
        if at == At::Quoted {
            // The last line that has text: a final line end starts no line.
            let last = self.line - usize::from(self.after_newline);
            record.problem = Some(format!(
                "field {}: its opening quote is never closed (the rest of the file, to line \
                 {last}, was read into it)",
                record.fields.len() + 1
            ));
        }
        if at != At::FieldStart || !field.text.is_empty() || !record.fields.is_empty() {
            record.end_field(field);
            return Some(record.finish());
        }
        None
    }
}

/// A field being read: its text up to `MAX_FIELD_BYTES`, and its length.
#[derive(Default)]
struct Field {
    text: String,
    bytes: usize,
}

impl Field {
    fn push(&mut self, c: char) {
        self.bytes += c.len_utf8();
        if self.bytes <= MAX_FIELD_BYTES {
            self.text.push(c);
        }
    }
}

/// A record being read, with its length so far.
struct Building {
    line: usize,
    fields: Vec<String>,
    /// Fields read, kept or not.
    count: usize,
    bytes: usize,
    problem: Option<String>,
}

impl Building {
    fn end_field(&mut self, field: Field) {
        self.count += 1;
        if field.bytes > MAX_FIELD_BYTES {
            let n = self.count;
            self.problem.get_or_insert_with(|| {
                format!(
                    "field {n} is {} bytes long; at most {MAX_FIELD_BYTES} are allowed",
                    field.bytes
                )
            });
        }
        if self.count <= MAX_FIELDS {
            self.fields.push(field.text);
        }
    }

    fn finish(mut self) -> CsvRecord {
        let (count, bytes) = (self.count, self.bytes);
        if count > MAX_FIELDS {
            self.problem.get_or_insert_with(|| {
                format!("{count} fields; a row may have at most {MAX_FIELDS}")
            });
        } else if bytes > MAX_RECORD_BYTES {
            self.problem.get_or_insert_with(|| {
                format!("the row is {bytes} bytes long; at most {MAX_RECORD_BYTES} are allowed")
            });
        }
        CsvRecord {
            line: self.line,
            fields: self.fields,
            problem: self.problem,
        }
    }
}
