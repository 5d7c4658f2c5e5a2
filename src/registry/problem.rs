//! A problem of an import file: where (the line, and for JSON the record's
//! index), which field, and why. Never holds a phone number's digits.

use serde::Serialize;

/// Why an import was refused, at one place of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    /// The line of the file (1-based): a CSV row's first line, a JSON
    /// record's opening line, or where the file stops being readable.
    pub line: usize,
    /// A JSON record's index in the officials array (0-based).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
    /// The field at fault; `None` for the row or the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
}

impl ImportProblem {
    /// A problem of a whole line (or of the file, at that line).
    pub(super) fn at(line: usize, reason: impl Into<String>) -> Self {
        ImportProblem {
            line,
            record: None,
            field: None,
            reason: reason.into(),
        }
    }

    /// A problem of one field of a record.
    pub(super) fn field(
        line: usize,
        record: Option<usize>,
        field: &str,
        reason: impl Into<String>,
    ) -> Self {
        ImportProblem {
            line,
            record,
            field: Some(field.to_owned()),
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for ImportProblem {
    /// `line 3: phone: …`, `line 7 (officials[1]): name: …`, `line 1: …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}", self.line)?;
        if let Some(record) = self.record {
            write!(f, " (officials[{record}])")?;
        }
        match &self.field {
            Some(field) => write!(f, ": {field}: {}", self.reason),
            None => write!(f, ": {}", self.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_say_where_and_what() {
        assert_eq!(
            ImportProblem::field(3, None, "phone", "is empty").to_string(),
            "line 3: phone: is empty"
        );
        assert_eq!(
            ImportProblem::field(7, Some(1), "name", "is empty").to_string(),
            "line 7 (officials[1]): name: is empty"
        );
        assert_eq!(
            ImportProblem::at(1, "no rows").to_string(),
            "line 1: no rows"
        );
        assert_eq!(
            serde_json::to_value(ImportProblem::at(1, "x")).unwrap(),
            serde_json::json!({"line": 1, "reason": "x"})
        );
    }
}
