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

use super::csv_text::{CsvError, CsvRecord, CsvRecords, read_records};
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
    let CsvRecords {
        separator,
        first_line,
        records,
    } = read_records(bytes)?;
    let mut records = records.into_iter();
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
