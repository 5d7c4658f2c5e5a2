//! Contacts as CSV (RFC 4180: comma-separated, double-quoted fields may hold
//! commas, quotes doubled, CRLF or LF line ends), turned into the contact
//! objects of a version 1 campaign document. Validation of the values is left
//! to the document parser, so CSV and JSON contacts get the same checks (and
//! `phone` the same normalisation of Indian forms to E.164).
//!
//! The first row names the columns: `id`, `phone`, `official_id`, `office`,
//! `service` are required, any other contact field (`CONTACT_FIELDS`:
//! `language`, …) is optional and an empty cell in it means absent. Other
//! columns are refused, with a suggestion for a near-miss: a whole column
//! is never ignored.

use serde_json::{Map, Value};

use crate::domain::{CONTACT_FIELDS, did_you_mean};

/// Why a CSV file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    pub line: usize,
    pub message: String,
}

const REQUIRED: [&str; 5] = ["id", "phone", "official_id", "office", "service"];

/// Parses CSV text into contact objects.
pub fn contacts_from_csv(text: &str) -> Result<Vec<Value>, CsvError> {
    let rows = parse_rows(text)?;
    let Some(((_, header), body)) = rows.split_first() else {
        return Err(CsvError {
            line: 1,
            message: "the file is empty; the first row must name the columns".into(),
        });
    };
    let columns: Vec<String> = header.iter().map(|c| c.trim().to_owned()).collect();
    for name in &columns {
        if !CONTACT_FIELDS.contains(&name.as_str()) {
            let hint = did_you_mean(name, CONTACT_FIELDS)
                .map(|known| format!(" (did you mean {known:?}?)"))
                .unwrap_or_default();
            return Err(CsvError {
                line: 1,
                message: format!("unknown column {name:?}{hint}"),
            });
        }
    }
    for name in REQUIRED {
        if !columns.iter().any(|c| c == name) {
            return Err(CsvError {
                line: 1,
                message: format!("missing column {name:?}"),
            });
        }
    }
    body.iter()
        .filter(|(_, fields)| !(fields.len() == 1 && fields[0].trim().is_empty()))
        .map(|(line, fields)| {
            if fields.len() != columns.len() {
                return Err(CsvError {
                    line: *line,
                    message: format!(
                        "{} fields, but the header has {}",
                        fields.len(),
                        columns.len()
                    ),
                });
            }
            let object: Map<String, Value> = columns
                .iter()
                .zip(fields)
                .filter(|(name, value)| {
                    REQUIRED.contains(&name.as_str()) || !value.trim().is_empty()
                })
                .map(|(name, value)| (name.clone(), Value::String(value.trim().to_owned())))
                .collect();
            Ok(Value::Object(object))
        })
        .collect()
}

/// Splits text into rows of fields, each with the line it starts on.
fn parse_rows(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut row_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                line += usize::from(c == '\n');
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push((row_line, std::mem::take(&mut row)));
                line += 1;
                row_line = line;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError {
            line: row_line,
            message: "a quoted field is not closed".into(),
        });
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push((row_line, row));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_fields_and_optional_language() {
        let text = "id,phone,language,official_id,office,service\r\n\
                    c-1,+919876543210,or,off-17,\"Dhenkanal Town PS, Dhenkanal\",FIR registration\r\n\
                    c-2,+919876543211,,off-17,\"The \"\"Big\"\" Office\",Passport\n";
        let contacts = contacts_from_csv(text).unwrap();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0]["office"], "Dhenkanal Town PS, Dhenkanal");
        assert_eq!(contacts[0]["language"], "or");
        assert!(contacts[1].get("language").is_none());
        assert_eq!(contacts[1]["office"], "The \"Big\" Office");
    }

    #[test]
    fn problems_name_their_line() {
        let err = contacts_from_csv("id,phone,office,service\n").unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (1, "missing column \"official_id\"")
        );
        let err = contacts_from_csv("id,phone,official_id,office,service,extra\n").unwrap_err();
        assert!(err.message.contains("extra"));
        let err = contacts_from_csv("id,phone,official_id,office,service,langauge\n").unwrap_err();
        assert_eq!(
            err.message,
            "unknown column \"langauge\" (did you mean \"language\"?)"
        );
        let err = contacts_from_csv("id,phone,official_id,office,service\na,b,c\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err =
            contacts_from_csv("id,phone,official_id,office,service\na,\"b,c,d,e\n").unwrap_err();
        assert!(err.message.contains("not closed"));
        assert!(contacts_from_csv("").is_err());
    }

    #[test]
    fn phones_in_indian_forms_reach_the_parser_as_written_and_normalise() {
        let text = "id,phone,official_id,office,service\n\
                    c-1,098765 43210,off-1,o,s\n\
                    c-2,\"+91 (98765) 43211\",off-1,o,s\n\
                    c-3,0674-2390000,off-1,o,s\n\
                    c-4,12345,off-1,o,s\n";
        let contacts = contacts_from_csv(text).unwrap();
        assert_eq!(contacts[0]["phone"], "098765 43210");
        let doc = serde_json::json!({"version": 1, "id": "csv", "name": "n", "dialplan": "d",
            "caller_id": "+916742000000", "department": "d", "contacts": contacts});
        let parsed = crate::domain::parse_campaign_document(&doc.to_string(), &|_| true).unwrap();
        let phones: Vec<_> = parsed.contacts.iter().map(|c| c.phone.as_str()).collect();
        assert_eq!(phones, ["+919876543210", "+919876543211", "+916742390000"]);
        assert_eq!(parsed.rejected.len(), 1);
        assert_eq!(parsed.rejected[0].masked["phone"], "*2345");
    }
}
