//! Holiday files a campaign document names (`calling_window.holiday_files`),
//! read on the submitting side: their dates are appended to
//! `calling_window.holidays` and the file names dropped, so the document
//! that reaches the intake stream — and the window stored from it — never
//! depends on files on a daemon's host (the parser refuses a document that
//! still names one).
//!
//! A relative path is looked up next to the document first, then in the
//! working directory. The file format is `policy::read_holiday_file`'s.
//!
//! Owns: finding and inlining the files. Does not own: the file format or
//! the window's validation (`crate::policy`, `domain/campaign_window.rs`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::policy::read_holiday_file;

/// Reads every file `doc`'s `calling_window.holiday_files` names and moves
/// their dates into `calling_window.holidays` (created if absent), removing
/// `holiday_files`. `doc_dir` is the directory of the document's file.
/// Returns every problem (a file that cannot be found or read, a bad line),
/// each naming the field and the file; dates of the files that could be read
/// are inlined either way. A document naming no file is left untouched.
pub fn inline_holiday_files(doc: &mut Value, doc_dir: &Path) -> Vec<String> {
    let Some(window) = doc.get_mut("calling_window").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let Some(files) = window.remove("holiday_files") else {
        return Vec::new();
    };
    let Some(files) = files.as_array() else {
        return vec!["field `calling_window.holiday_files` must be a list of file paths".into()];
    };
    let mut problems = Vec::new();
    let mut dates = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let field = format!("field `calling_window.holiday_files[{i}]`");
        let Some(name) = file.as_str() else {
            problems.push(format!("{field} must be a string (a file path)"));
            continue;
        };
        let path = match locate(Path::new(name), doc_dir) {
            Ok(path) => path,
            Err(reason) => {
                problems.push(format!("{field}: {reason}"));
                continue;
            }
        };
        match read_holiday_file(&path) {
            Ok(found) => dates.extend(found.iter().map(|d| Value::String(d.to_string()))),
            Err(found) => problems.extend(found.into_iter().map(|p| format!("{field}: {p}"))),
        }
    }
    // A `holidays` that is not a list is the parser's to report; the files'
    // dates have no list to join then, and that problem stops the document.
    if let Value::Array(holidays) = window
        .entry("holidays")
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        holidays.extend(dates);
    }
    problems
}

/// `name` as found: absolute as given; relative, next to the document, else
/// in the working directory.
fn locate(name: &Path, doc_dir: &Path) -> Result<PathBuf, String> {
    if name.as_os_str().is_empty() {
        return Err("an empty file name".into());
    }
    if name.is_absolute() {
        return Ok(name.to_owned());
    }
    let beside = doc_dir.join(name);
    if beside.exists() {
        return Ok(beside);
    }
    if name.exists() {
        return Ok(name.to_owned());
    }
    Err(format!(
        "{}: no such file next to the document ({}) or in the working directory",
        name.display(),
        beside.display()
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn files_are_read_next_to_the_document_and_inlined() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("holidays")).unwrap();
        std::fs::write(
            dir.path().join("holidays/state.txt"),
            "# state\n2026-01-26 # Republic Day\n2026-04-01\n",
        )
        .unwrap();
        let mut doc = json!({"id": "c", "calling_window": {
            "zone": "Asia/Kolkata",
            "holidays": ["2026-12-25"],
            "holiday_files": ["holidays/state.txt"],
        }});
        assert_eq!(
            inline_holiday_files(&mut doc, dir.path()),
            Vec::<String>::new()
        );
        assert_eq!(
            doc["calling_window"],
            json!({"zone": "Asia/Kolkata",
                   "holidays": ["2026-12-25", "2026-01-26", "2026-04-01"]})
        );
    }

    #[test]
    fn the_working_directory_is_the_second_place_looked_in() {
        // Tests run in the crate's directory, which ships the Odisha file.
        let elsewhere = tempfile::tempdir().unwrap();
        let mut doc = json!({"calling_window": {
            "holiday_files": ["config/holidays/odisha-2026.txt"],
        }});
        assert!(inline_holiday_files(&mut doc, elsewhere.path()).is_empty());
        let holidays = doc["calling_window"]["holidays"].as_array().unwrap();
        assert!(holidays.contains(&json!("2026-04-01")), "{holidays:?}");
        assert!(doc["calling_window"].get("holiday_files").is_none());
    }

    #[test]
    fn every_file_problem_is_listed_and_good_files_still_inlined() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good.txt"), "2026-08-15\n").unwrap();
        std::fs::write(dir.path().join("bad.txt"), "2026-01-26\n15 Aug\n").unwrap();
        let mut doc = json!({"calling_window": {
            "holiday_files": ["missing.txt", "bad.txt", 7, "good.txt", ""],
        }});
        let problems = inline_holiday_files(&mut doc, dir.path());
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(
            problems[0].starts_with("field `calling_window.holiday_files[0]`: missing.txt: no such file next to the document"),
            "{problems:#?}"
        );
        assert!(
            problems[1].starts_with("field `calling_window.holiday_files[1]`: ")
                && problems[1].contains("bad.txt line 2"),
            "{problems:#?}"
        );
        assert!(
            problems[2].contains("[2]` must be a string"),
            "{problems:#?}"
        );
        assert!(
            problems[3].contains("[4]`: an empty file name"),
            "{problems:#?}"
        );
        // A file with a bad line gives no date at all.
        assert_eq!(doc["calling_window"]["holidays"], json!(["2026-08-15"]));
    }

    #[test]
    fn documents_without_files_are_untouched() {
        let dir = tempfile::tempdir().unwrap();
        for doc in [
            json!({"id": "c"}),
            json!({"calling_window": {"zone": "UTC"}}),
            json!({"calling_window": "weird"}),
        ] {
            let mut copy = doc.clone();
            assert!(inline_holiday_files(&mut copy, dir.path()).is_empty());
            assert_eq!(copy, doc);
        }
        let mut doc = json!({"calling_window": {"holiday_files": "a.txt"}});
        assert_eq!(inline_holiday_files(&mut doc, dir.path()).len(), 1);
    }

    #[test]
    fn the_example_campaign_is_valid_once_its_files_are_inlined() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = root.join("docs/examples/campaign-with-window.json");
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let dir = file.parent().unwrap();
        assert_eq!(inline_holiday_files(&mut doc, dir), Vec::<String>::new());
        let parsed = crate::domain::parse_campaign_document(&doc.to_string(), &|name| {
            root.join("dialplans")
                .join(format!("{name}.toml"))
                .is_file()
        })
        .unwrap();
        assert!(parsed.warnings.is_empty() && parsed.rejected.is_empty());
        let window = parsed.header.calling_window.unwrap();
        // Odisha's list and the document's own date.
        assert!(window.holidays().len() > 20);
        // Relative to the document, not to wherever it is submitted from.
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(inline_holiday_files(&mut doc, elsewhere.path()).len(), 1);
    }
}
