//! The JSON import format: an array of officials, or `{"officials": [...]}`.
//! Each official is an object with the CSV's columns as keys: strings,
//! `phone` also a whole number (as spreadsheet exports write it), and
//! `languages` an array of strings (absent or `null`: none). Any other key is
//! refused, so a misspelt one is never silently dropped. UTF-8, a byte-order
//! mark tolerated.
//!
//! Problems name the record by its index and by the line its object opens
//! on, found by a scan of the text (serde keeps no positions in a `Value`).

use serde_json::Value;

use super::ImportProblem;
use super::csv::COLUMNS;
use super::import::Collected;
use crate::domain::json_guard::{self, GuardError};
use crate::domain::{OfficialFields, mask_digit_runs};

/// Reads every record of a JSON file into `out`.
pub(super) fn read(bytes: &[u8], out: &mut Collected) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let before = &bytes[..e.valid_up_to()];
            let line = 1 + before.iter().filter(|b| **b == b'\n').count();
            out.problem(ImportProblem::at(
                line,
                format!(
                    "byte {} of the file is 0x{:02X}, which is not UTF-8: save the file as UTF-8",
                    e.valid_up_to() + 1,
                    bytes[e.valid_up_to()]
                ),
            ));
            return;
        }
    };
    if let Err(GuardError::Limit(why)) = json_guard::check_document(text) {
        out.problem(ImportProblem::at(1, format!("the file is refused: {why}")));
        return;
    }
    let document: Value = match serde_json::from_str(text) {
        Ok(document) => document,
        Err(e) => {
            let reason = format!("the file is not valid JSON: {e}");
            out.problem(ImportProblem::at(e.line().max(1), mask_digit_runs(&reason)));
            return;
        }
    };
    let (items, depth) = match officials_array(&document) {
        Ok(found) => found,
        Err(reason) => {
            out.problem(ImportProblem::at(1, reason));
            return;
        }
    };
    if items.is_empty() {
        out.problem(ImportProblem::at(1, "the file lists no officials"));
        return;
    }
    let lines = element_lines(text, depth);
    for (index, item) in items.iter().enumerate() {
        let line = lines.get(index).copied().unwrap_or(1);
        match record(item, line, index) {
            Ok(fields) => out.add(line, Some(index), &fields),
            Err(problems) => {
                let id = item.get("official_id").and_then(Value::as_str);
                out.add_unreadable(line, Some(index), id);
                problems.into_iter().for_each(|p| out.problem(p));
            }
        }
    }
}

/// The officials array, and the depth its elements are at in the text.
fn officials_array(document: &Value) -> Result<(&Vec<Value>, usize), String> {
    match document {
        Value::Array(items) => Ok((items, 1)),
        Value::Object(obj) => {
            let others: Vec<String> = obj
                .keys()
                .filter(|k| *k != "officials")
                .map(|k| format!("{:?}", mask_digit_runs(k)))
                .collect();
            if !others.is_empty() {
                return Err(format!(
                    "unknown key(s) {} at the top: the file is an array of officials, or an \
                     object with only `officials`",
                    others.join(", ")
                ));
            }
            match obj.get("officials") {
                Some(Value::Array(items)) => Ok((items, 2)),
                Some(_) => Err("`officials` must be an array of officials".into()),
                None => Err("the object has no `officials` array".into()),
            }
        }
        _ => Err("the file must be an array of officials, or {\"officials\": [...]}".into()),
    }
}

/// One record's fields, or every problem with it.
fn record(item: &Value, line: usize, index: usize) -> Result<OfficialFields, Vec<ImportProblem>> {
    let here = |field: &str, reason: String| ImportProblem::field(line, Some(index), field, reason);
    let Value::Object(obj) = item else {
        return Err(vec![ImportProblem {
            record: Some(index),
            ..ImportProblem::at(line, "an official must be a JSON object")
        }]);
    };
    let mut problems: Vec<ImportProblem> = obj
        .keys()
        .filter(|k| !COLUMNS.contains(&k.as_str()))
        .map(|k| {
            here(
                &mask_digit_runs(k),
                format!("is not a field of an official ({})", COLUMNS.join(", ")),
            )
        })
        .collect();
    let mut text = |field: &'static str| -> String {
        match obj.get(field) {
            Some(Value::String(s)) => s.clone(),
            // Spreadsheet exports write numbers as JSON numbers.
            Some(Value::Number(n)) if field == "phone" && n.is_u64() => n.to_string(),
            None | Some(Value::Null) => {
                problems.push(here(field, "is missing".into()));
                String::new()
            }
            Some(_) => {
                problems.push(here(field, "must be a string".into()));
                String::new()
            }
        }
    };
    let fields = OfficialFields {
        official_id: text("official_id"),
        name: text("name"),
        phone: text("phone"),
        office: text("office"),
        department: text("department"),
        languages: Vec::new(),
    };
    let languages = match obj.get("languages") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(codes)) => codes
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or("must be an array of strings (language codes)"),
        Some(_) => Err("must be an array of strings (language codes), e.g. [\"or\", \"en\"]"),
    };
    match languages {
        Ok(languages) if problems.is_empty() => Ok(OfficialFields {
            languages,
            ..fields
        }),
        Ok(_) => Err(problems),
        Err(reason) => {
            problems.push(here("languages", reason.into()));
            Err(problems)
        }
    }
}

/// The line each element of the officials array opens on, for valid JSON
/// whose array's elements are at `depth` (1: the top is the array; 2: it is
/// the value of the top object's only key).
fn element_lines(text: &str, depth: usize) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut at, mut in_string, mut escaped) = (1, 0usize, false, false);
    // Whether the next value at `depth` starts an element.
    let mut expecting = false;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if expecting && at == depth {
            expecting = false;
            if c != ']' {
                lines.push(line);
            }
        }
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                at += 1;
                expecting = at == depth && c == '[';
            }
            ']' | '}' => at = at.saturating_sub(1),
            ',' if at == depth => expecting = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::element_lines;
    use crate::registry::{ImportFormat, ParsedImport, parse_officials};

    fn parse(text: &str) -> ParsedImport {
        parse_officials(text.as_bytes(), ImportFormat::Json)
    }

    fn problems(text: &str) -> Vec<String> {
        let parsed = parse(text);
        assert!(parsed.officials.is_empty(), "nothing kept: {parsed:?}");
        parsed.problems.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn elements_are_found_on_their_lines() {
        let text = "[\n {\"a\": [1, {\"b\": \"],\\\"{\"}]},\n\n {},\n \"x\"\n]";
        assert_eq!(element_lines(text, 1), [2, 4, 5]);
        assert_eq!(element_lines("[]", 1), Vec::<usize>::new());
        let wrapped = "{\"officials\": [\n{},\n{}]}";
        assert_eq!(element_lines(wrapped, 2), [2, 3]);
    }

    #[test]
    fn reads_both_shapes_with_odia_names_and_numbers_as_numbers() {
        let one = r#"{"official_id": "col-khordha", "name": "ସୁଜାତା ମହାନ୍ତି",
            "phone": 9861000001, "office": "Collectorate", "department": "Revenue",
            "languages": ["or", "en"]}"#;
        for text in [
            format!("\u{feff}[{one}]"),
            format!(r#"{{"officials": [{one}]}}"#),
        ] {
            let parsed = parse(&text);
            assert_eq!(parsed.problems, [], "{text}");
            let o = &parsed.officials[0];
            assert_eq!(o.name(), "ସୁଜାତା ମହାନ୍ତି");
            assert_eq!(o.phone().as_str(), "+919861000001");
            assert_eq!(o.languages(), ["or", "en"]);
        }
        let none = r#"[{"official_id": "a", "name": "n", "phone": "9861000001",
            "office": "o", "department": "d"}]"#;
        assert!(parse(none).officials[0].languages().is_empty());
    }

    #[test]
    fn every_problem_names_its_record_line_and_field() {
        let text = r#"[
  {"official_id": "a-1", "name": "One", "phone": "9861000001", "office": "o",
   "department": "d", "languages": ["or"]},
  {"official_id": "a-2", "name": "Two", "phone": "98610", "office": "o",
   "department": "d", "languages": "or"},
  {"official_id": "a-1", "name": 7, "phone": "9861000003", "office": "o",
   "department": "d", "langauges": ["or"]},
  "a-4"
]"#;
        let found = problems(text);
        assert_eq!(
            found,
            [
                "line 4 (officials[1]): languages: must be an array of strings (language codes), e.g. [\"or\", \"en\"]",
                "line 6 (officials[2]): official_id: a-1 is listed again (first on line 2); list each official once",
                "line 6 (officials[2]): langauges: is not a field of an official (official_id, name, phone, office, department, languages)",
                "line 6 (officials[2]): name: must be a string",
                "line 8 (officials[3]): an official must be a JSON object",
            ]
        );
        let text = r#"[{"official_id": "a-1", "name": "One", "phone": "9861000001", "office": "o", "department": "d"},
{"official_id": "a-1", "name": "One", "phone": "98610", "office": "o", "department": "d"}]"#;
        let found = problems(text);
        assert!(
            found[0].starts_with(
                "line 2 (officials[1]): official_id: a-1 is listed again (first on line 1)"
            ),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("line 2 (officials[1]): phone: "),
            "{found:?}"
        );
    }

    #[test]
    fn files_that_are_not_lists_of_officials_are_refused() {
        assert!(problems("[1,")[0].starts_with("line 1: the file is not valid JSON"));
        assert_eq!(problems("[]"), ["line 1: the file lists no officials"]);
        assert!(problems(r#"{"officials": [], "x": 1}"#)[0].contains("unknown key(s) \"x\""));
        assert!(problems(r#"{"officials": 1}"#)[0].contains("must be an array"));
        assert!(problems(r#"{}"#)[0].contains("no `officials` array"));
        assert!(problems("\"x\"")[0].contains("must be an array of officials"));
        assert_eq!(
            problems(r#"[{"official_id": "a", "official_id": "b"}]"#),
            ["line 1: the file is refused: key `official_id` appears twice in the document[0]"]
        );
        let parsed = parse_officials(b"[\n\"\xE9\"]", ImportFormat::Json);
        assert_eq!(
            parsed.problems[0].to_string(),
            "line 2: byte 4 of the file is 0xE9, which is not UTF-8: save the file as UTF-8"
        );
    }
}
