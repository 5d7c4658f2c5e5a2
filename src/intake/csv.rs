//! Contacts as CSV, as spreadsheets export them, turned into the contact
//! objects of a version 1 campaign document. The text (encoding, separator,
//! quoting) is read by `csv_text.rs`.
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

use super::csv_text::{CsvError, CsvRecord, RecordStream};
use super::utf8_chars::{Utf8Chars, encoding_problems};
use crate::domain::{CONTACT_FIELDS, DefaultCountry, did_you_mean};

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

/// Reads the contacts of a CSV file. `Err`: the file cannot be read at all
/// (its encoding or its first line), with every problem.
pub fn read_contacts(bytes: &[u8], country: DefaultCountry) -> Result<CsvContacts, Vec<CsvError>> {
    let problems = encoding_problems(bytes).map_err(|e| vec![e])?;
    if !problems.is_empty() {
        return Err(problems);
    }
    let rows = ContactRows::new(Utf8Chars::new(bytes).map_err(|e| vec![e])?, country)?;
    let mut out = CsvContacts {
        contacts: Vec::new(),
        lines: Vec::new(),
        bad_rows: Vec::new(),
        separator: rows.separator(),
    };
    for row in rows {
        match row {
            Ok((line, contact)) => {
                out.contacts.push(contact);
                out.lines.push(line);
            }
            Err(bad) => out.bad_rows.push(bad),
        }
    }
    Ok(out)
}

/// The contacts of a CSV text, one row at a time: `Ok((line, contact))`, or
/// the row that could not be read as one. For a file of any size (`campaign
/// submit` streams through it; check the encoding first with
/// `utf8_chars::encoding_problems` or `Utf8Chars::finish`).
pub(crate) struct ContactRows<'a> {
    records: RecordStream<'a>,
    columns: Vec<Option<String>>,
    country: DefaultCountry,
}

impl<'a> ContactRows<'a> {
    /// Reads the first line. `Err`: every problem with it.
    pub(crate) fn new(
        chars: impl Iterator<Item = char> + 'a,
        country: DefaultCountry,
    ) -> Result<Self, Vec<CsvError>> {
        let mut records = RecordStream::new(chars);
        let Some(header) = records.next() else {
            return Err(vec![CsvError::new(
                records.first_line,
                "the file has no rows; the first line must name the columns",
            )]);
        };
        let columns = columns(&header)?;
        Ok(ContactRows {
            records,
            columns,
            country,
        })
    }

    pub(crate) fn separator(&self) -> char {
        self.records.separator
    }
}

impl Iterator for ContactRows<'_> {
    type Item = Result<(usize, Value), CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        let separator = self.records.separator;
        Some(
            contact(&record, &self.columns, separator, self.country)
                .map(|c| (record.line, c))
                .map_err(|message| CsvError::new(record.line, message)),
        )
    }
}

/// The header's column names (lower case; `None` for an unnamed column), or
/// every problem with it.
fn columns(header: &CsvRecord) -> Result<Vec<Option<String>>, Vec<CsvError>> {
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
    record: &CsvRecord,
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
