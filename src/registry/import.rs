//! An import file as a whole: which format it is, every official in it or
//! every problem, and putting it into the store all at once.
//!
//! All or nothing: a file with any problem writes nothing, and the problems
//! listed are all of them (every row, every field), so one round of fixes
//! makes the file good.

use std::collections::HashMap;
use std::str::FromStr;

use super::ImportProblem;
use crate::domain::{Official, OfficialFields, OfficialId};
use crate::store::{ImportSummary, Store, StoreError};

/// The most officials one import may hold: the whole file is written in one
/// atomic step, which must stay short.
pub const MAX_OFFICIALS: usize = 50_000;

/// How an import file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    Csv,
    Json,
}

impl ImportFormat {
    /// By the file's extension (`.csv`, `.json`, any case), else by its
    /// content.
    pub fn of_file(name: &str, bytes: &[u8]) -> ImportFormat {
        let extension = std::path::Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => ImportFormat::Csv,
            Some("json") => ImportFormat::Json,
            _ => ImportFormat::of_content(bytes),
        }
    }

    /// JSON when the first character that is not a space (after any
    /// byte-order mark) opens an array or an object; CSV otherwise.
    pub fn of_content(bytes: &[u8]) -> ImportFormat {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[' | b'{') => ImportFormat::Json,
            _ => ImportFormat::Csv,
        }
    }

    /// By an HTTP `Content-Type` (`text/csv`, `application/json`, with any
    /// parameters); `None` for any other type.
    pub fn of_content_type(content_type: &str) -> Option<ImportFormat> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        match essence.to_ascii_lowercase().as_str() {
            "text/csv" => Some(ImportFormat::Csv),
            "application/json" => Some(ImportFormat::Json),
            _ => None,
        }
    }
}

impl FromStr for ImportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "csv" => Ok(ImportFormat::Csv),
            "json" => Ok(ImportFormat::Json),
            _ => Err(format!("{s:?} is not an import format (csv or json)")),
        }
    }
}

/// What a file holds: its officials when `problems` is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedImport {
    /// The good records, in file order.
    pub officials: Vec<Official>,
    /// Every problem, by line.
    pub problems: Vec<ImportProblem>,
}

/// Reads an import file.
pub fn parse_officials(bytes: &[u8], format: ImportFormat) -> ParsedImport {
    let mut collected = Collected::default();
    match format {
        ImportFormat::Csv => super::csv::read(bytes, &mut collected),
        ImportFormat::Json => super::json::read(bytes, &mut collected),
    }
    collected.finish()
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file has {} problem(s); nothing was imported", .0.len())]
    Invalid(Vec<ImportProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a file and, if it has no problem, puts every official in it into
/// the registry in one step.
pub async fn import_officials(
    store: &dyn Store,
    bytes: &[u8],
    format: ImportFormat,
) -> Result<ImportSummary, ImportError> {
    let parsed = parse_officials(bytes, format);
    if !parsed.problems.is_empty() {
        return Err(ImportError::Invalid(parsed.problems));
    }
    Ok(store.put_officials(&parsed.officials).await?)
}

/// The officials of a file as its records are read, with every problem:
/// each record checked alone, then against the records before it.
#[derive(Debug, Default)]
pub(super) struct Collected {
    officials: Vec<Official>,
    /// The line each official id was first given on.
    first_seen: HashMap<OfficialId, usize>,
    records: usize,
    problems: Vec<ImportProblem>,
}

impl Collected {
    /// A problem of the file or of a row as a whole.
    pub fn problem(&mut self, problem: ImportProblem) {
        self.problems.push(problem);
    }

    /// One record, starting on `line` (`record`: its index in a JSON array).
    pub fn add(&mut self, line: usize, record: Option<usize>, fields: &OfficialFields) {
        self.records += 1;
        self.check_repeat(line, record, &fields.official_id);
        match Official::new(fields) {
            Ok(official) => self.officials.push(official),
            Err(problems) => self.problems.extend(
                problems
                    .into_iter()
                    .map(|p| ImportProblem::field(line, record, p.field, p.reason)),
            ),
        }
    }

    /// A record whose fields could not all be read (its problems are
    /// reported with [`problem`](Self::problem)): counted all the same, and
    /// its official id, if it has one, checked for repeats.
    pub fn add_unreadable(
        &mut self,
        line: usize,
        record: Option<usize>,
        official_id: Option<&str>,
    ) {
        self.records += 1;
        if let Some(id) = official_id {
            self.check_repeat(line, record, id);
        }
    }

    fn check_repeat(&mut self, line: usize, record: Option<usize>, raw_id: &str) {
        let Ok(id) = OfficialId::parse(raw_id.trim()) else {
            return;
        };
        match self.first_seen.get(&id) {
            Some(first) => self.problems.push(ImportProblem::field(
                line,
                record,
                "official_id",
                format!("{id} is listed again (first on line {first}); list each official once"),
            )),
            None => {
                self.first_seen.insert(id, line);
            }
        }
    }

    fn finish(mut self) -> ParsedImport {
        if self.records > MAX_OFFICIALS {
            self.problems.push(ImportProblem::at(
                1,
                format!(
                    "the file lists {} officials; at most {MAX_OFFICIALS} may be imported at once \
                     (split the file)",
                    self.records
                ),
            ));
        }
        // Stable: a record's problems stay in field order.
        self.problems.sort_by_key(|p| p.line);
        if !self.problems.is_empty() {
            self.officials.clear();
        }
        ParsedImport {
            officials: self.officials,
            problems: self.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_extension_then_the_content() {
        assert_eq!(ImportFormat::of_file("a.CSV", b"["), ImportFormat::Csv);
        assert_eq!(ImportFormat::of_file("a.json", b"x"), ImportFormat::Json);
        assert_eq!(
            ImportFormat::of_file("officials", b"\xEF\xBB\xBF \n [{}]"),
            ImportFormat::Json
        );
        assert_eq!(ImportFormat::of_file("x.txt", b" {"), ImportFormat::Json);
        assert_eq!(
            ImportFormat::of_file("x.txt", b"official_id,name"),
            ImportFormat::Csv
        );
        assert_eq!(ImportFormat::of_content(b""), ImportFormat::Csv);
        assert_eq!(
            ImportFormat::of_content_type("text/csv; charset=utf-8"),
            Some(ImportFormat::Csv)
        );
        assert_eq!(
            ImportFormat::of_content_type("Application/JSON"),
            Some(ImportFormat::Json)
        );
        assert_eq!(ImportFormat::of_content_type("text/plain"), None);
    }
}
