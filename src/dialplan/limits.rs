//! Bounds on a dialplan file, checked before its meaning is read: the
//! file's size (before it is parsed), and within it every array (questions,
//! choices, menu options), every table (prompts by language, escalations),
//! every key and string, and the nesting. A plan needs a small part of each;
//! a file over one is refused with its place (`file:line:col: path`).
//!
//! Owns: these limits. Does not own: what the values mean (`parse`).

use std::io::Read;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::problem::Problem;
use super::tree::{Reader, Value, index_path, key_path};

/// The largest dialplan file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// The most elements of one array (questions, choices, options) and keys of
/// one table (languages of a prompt, escalating flags).
pub const MAX_ITEMS: usize = 256;
/// The longest string value, in bytes (a prompt's text or audio URL).
pub const MAX_STRING_BYTES: usize = 4096;
/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// The deepest nesting of tables and arrays (a plan needs five).
pub const MAX_DEPTH: usize = 12;

/// Reads `path` whole, refusing a file larger than `MAX_FILE_BYTES` without
/// reading more of it than that (a path such as `/dev/zero` included).
pub(super) fn read_bounded(path: &Path) -> Result<String, Problem> {
    let file = std::fs::File::open(path)
        .map_err(|e| Problem::whole_file(path, format!("cannot read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Problem::whole_file(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    String::from_utf8(bytes).map_err(|e| {
        Problem::whole_file(
            path,
            format!(
                "cannot read: not UTF-8 (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// The problem of a file over `MAX_FILE_BYTES`.
pub(super) fn too_large(path: &Path) -> Problem {
    Problem::whole_file(
        path,
        format!(
            "the file is larger than {MAX_FILE_BYTES} bytes (1 MiB); a dialplan needs far less"
        ),
    )
}

/// Records a problem for every value of `root` over a limit.
pub(super) fn check_tree(r: &mut Reader<'_>, root: &DeTable<'_>) {
    table(r, root, 0..0, "", 0);
}

fn table(
    r: &mut Reader<'_>,
    t: &DeTable<'_>,
    span: std::ops::Range<usize>,
    path: &str,
    depth: usize,
) {
    if t.len() > MAX_ITEMS {
        let at = if path.is_empty() { "the file" } else { path };
        r.problem(
            span,
            path,
            format!("{at} has {} keys; at most {MAX_ITEMS} are allowed", t.len()),
        );
        return;
    }
    for (key, value) in t {
        let name: &str = key.get_ref();
        let child = key_path(path, name);
        if name.len() > MAX_KEY_BYTES {
            r.problem(
                key.span(),
                path,
                format!(
                    "a key is {} bytes long; at most {MAX_KEY_BYTES} are allowed",
                    name.len()
                ),
            );
            continue;
        }
        self::value(r, value, &child, depth + 1);
    }
}

fn value(r: &mut Reader<'_>, v: &Value<'_>, path: &str, depth: usize) {
    if depth > MAX_DEPTH {
        r.problem(
            v.span(),
            path,
            format!("nested deeper than {MAX_DEPTH} levels"),
        );
        return;
    }
    match v.get_ref() {
        DeValue::String(s) if s.len() > MAX_STRING_BYTES => r.problem(
            v.span(),
            path,
            format!(
                "{} bytes long; at most {MAX_STRING_BYTES} are allowed",
                s.len()
            ),
        ),
        DeValue::Array(items) if items.len() > MAX_ITEMS => r.problem(
            v.span(),
            path,
            format!("{} elements; at most {MAX_ITEMS} are allowed", items.len()),
        ),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                value(r, item, &index_path(path, i), depth + 1);
            }
        }
        DeValue::Table(t) => table(r, t, v.span(), path, depth),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialplan::parse_str;

    fn problems(src: &str) -> Vec<String> {
        parse_str(Path::new("dialplans/x.toml"), src, None)
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn long_strings_keys_and_arrays_are_refused_with_their_place() {
        let long = "a".repeat(MAX_STRING_BYTES + 1);
        let found = problems(&format!(
            "name = \"x\"\n\n[messages]\ngoodbye = {{ en = \"{long}\" }}\n"
        ));
        assert_eq!(
            found,
            [
                "dialplans/x.toml:4:18: messages.goodbye.en: 4097 bytes long; at most 4096 are allowed"
            ]
        );
        let options = vec!["1"; MAX_ITEMS + 1].join(", ");
        let found = problems(&format!("name = \"x\"\nlanguages = [{options}]\n"));
        assert_eq!(
            found,
            ["dialplans/x.toml:2:13: languages: 257 elements; at most 256 are allowed"]
        );
        let key = "k".repeat(MAX_KEY_BYTES + 1);
        let found = problems(&format!("[escalations]\n{key} = \"high\"\n"));
        assert_eq!(
            found,
            ["dialplans/x.toml:2:1: escalations: a key is 129 bytes long; at most 128 are allowed"]
        );
    }

    #[test]
    fn wide_tables_and_deep_nesting_are_refused() {
        let keys: String = (0..=MAX_ITEMS)
            .map(|i| format!("f{i} = \"high\"\n"))
            .collect();
        let found = problems(&format!("[escalations]\n{keys}"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].ends_with("escalations: escalations has 257 keys; at most 256 are allowed"),
            "{}",
            found[0]
        );
        let deep = format!("a = {}1{}\n", "[".repeat(20), "]".repeat(20));
        let found = problems(&deep);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("nested deeper than 12 levels"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_unparsed() {
        let src = format!("name = \"x\"\n# {}\n", "z".repeat(MAX_FILE_BYTES as usize));
        assert_eq!(
            problems(&src),
            [
                "dialplans/x.toml: the file is larger than 1048576 bytes (1 MiB); a dialplan needs far less"
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, &src).unwrap();
        let found = crate::dialplan::check_file(&path);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.starts_with("the file is larger than"),
            "{}",
            found[0]
        );
        // A device that never ends is read only to the limit.
        let found = crate::dialplan::check_file(Path::new("/dev/zero"));
        assert!(
            found[0].message.starts_with("the file is larger than"),
            "{}",
            found[0]
        );
    }
}
