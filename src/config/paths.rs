//! Path settings. A relative path written in the configuration file is
//! relative to the file's directory — as the operator reads it, whatever
//! directory `serve` is started from; one set through the environment is
//! relative to the working directory (as a path on a command line is; Cargo
//! treats its own configuration the same way). Both are made absolute while
//! loading, `..` taken lexically, so every later error names the full path
//! that was tried.
//!
//! A path key left unset takes its default relative to the file's directory
//! too (`dialplans` next to the configuration file).

use std::path::{Component, Path, PathBuf};

use config::{Value, ValueKind};

use super::sections::DialplanSettings;
use super::tree::{Table, is_from_env, table_at};

/// Every setting that holds a path (or a list of paths).
pub(super) const PATH_KEYS: &[&[&str]] = &[
    &["dialplans", "dir"],
    &["webhook", "tls", "cert_path"],
    &["webhook", "tls", "key_path"],
    &["admin", "tls", "cert_path"],
    &["admin", "tls", "key_path"],
    &["redis", "tls", "ca_path"],
    &["redis", "tls", "client_cert_path"],
    &["redis", "tls", "client_key_path"],
    &["policy", "calling_window", "holiday_files"],
];

/// Rewrites every relative path in `tree` as an absolute one: against
/// `file_dir` for file values and defaults, the working directory for
/// environment values. Values of the wrong type are left for the
/// deserialiser to report.
pub(super) fn resolve(tree: &mut Table, file_dir: &Path) {
    insert_default_dialplans_dir(tree);
    for path in PATH_KEYS {
        let Some((key, parents)) = path.split_last() else {
            continue;
        };
        let Some(value) = table_at(tree, parents).and_then(|t| t.get_mut(*key)) else {
            continue;
        };
        match &mut value.kind {
            ValueKind::Array(items) => {
                for item in items {
                    resolve_value(item, file_dir);
                }
            }
            _ => resolve_value(value, file_dir),
        }
    }
}

/// `dialplans.dir` has a relative default; put it in the tree so that it is
/// resolved like a written value. It keeps no origin: still a default.
fn insert_default_dialplans_dir(tree: &mut Table) {
    let section = tree
        .entry("dialplans".to_owned())
        .or_insert_with(|| Value::new(None, ValueKind::Table(Table::new())));
    if let ValueKind::Table(section) = &mut section.kind {
        section.entry("dir".to_owned()).or_insert_with(|| {
            let default = DialplanSettings::default().dir;
            Value::new(None, default.to_string_lossy().into_owned())
        });
    }
}

pub(super) fn resolve_value(value: &mut Value, file_dir: &Path) {
    let ValueKind::String(text) = &value.kind else {
        return;
    };
    // An empty path is refused by validation, not turned into a directory.
    if text.is_empty() {
        return;
    }
    let resolved = if is_from_env(value) {
        absolute(Path::new(text))
    } else {
        lexical(&file_dir.join(text))
    };
    value.kind = ValueKind::String(resolved.to_string_lossy().into_owned());
}

/// `path` against the working directory (unchanged if that cannot be read),
/// with `..` taken lexically, as the operator reads it.
pub(super) fn absolute(path: &Path) -> PathBuf {
    lexical(&std::path::absolute(path).unwrap_or_else(|_| path.to_owned()))
}

/// `/a/b/../c` → `/a/c`, without asking the file system (so through a
/// symbolic link `..` is the written parent, not the link target's).
pub(super) fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // Above the root is the root; a relative path keeps its `..`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tree::{ENV_ORIGIN, find};

    fn text(tree: &Table, key: &str) -> String {
        match &find(tree, key).unwrap().kind {
            ValueKind::String(s) => s.clone(),
            other => panic!("{key} is {other:?}"),
        }
    }

    #[test]
    fn file_values_and_defaults_follow_the_file_environment_values_the_working_directory() {
        let file = Some("config file line 3".to_owned());
        let env = Some(ENV_ORIGIN.to_owned());
        let mut tls = Table::new();
        tls.insert(
            "cert_path".into(),
            Value::new(file.as_ref(), "tls/cert.pem"),
        );
        tls.insert("key_path".into(), Value::new(env.as_ref(), "key.pem"));
        let mut webhook = Table::new();
        webhook.insert("tls".into(), Value::new(None, tls));
        let mut window = Table::new();
        let files = vec![
            Value::new(file.as_ref(), "h.txt"),
            Value::new(file.as_ref(), "/abs/h.txt"),
        ];
        window.insert("holiday_files".into(), Value::new(None, files));
        let mut policy = Table::new();
        policy.insert("calling_window".into(), Value::new(None, window));
        let mut tree = Table::new();
        tree.insert("webhook".into(), Value::new(None, webhook));
        tree.insert("policy".into(), Value::new(None, policy));

        resolve(&mut tree, Path::new("/etc/sampark"));
        assert_eq!(
            text(&tree, "webhook.tls.cert_path"),
            "/etc/sampark/tls/cert.pem"
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            text(&tree, "webhook.tls.key_path"),
            cwd.join("key.pem").to_string_lossy()
        );
        assert_eq!(
            text(&tree, "policy.calling_window.holiday_files[0]"),
            "/etc/sampark/h.txt"
        );
        assert_eq!(
            text(&tree, "policy.calling_window.holiday_files[1]"),
            "/abs/h.txt"
        );
        assert_eq!(text(&tree, "dialplans.dir"), "/etc/sampark/dialplans");
        assert!(find(&tree, "dialplans.dir").unwrap().origin().is_none());
    }

    #[test]
    fn parent_steps_are_taken_lexically() {
        for (raw, want) in [
            ("/a/b/../c", "/a/c"),
            ("/a/./b/", "/a/b"),
            ("/../a", "/a"),
            ("a/../../b", "../b"),
        ] {
            assert_eq!(lexical(Path::new(raw)), PathBuf::from(want), "{raw}");
        }
    }
}
