//! Loading: the TOML file (`file.rs`, read with error recovery) and the
//! `SAMPARK__*` variables merged by the `config` crate, then deserialised
//! key by key so that every unknown key and every wrong type is reported,
//! not just the first serde meets.
//!
//! How: relative paths are resolved (`paths.rs`); the merged tree is
//! deserialised; on an error, the key it names is recorded as a problem with
//! its origin and removed (its default applies), and deserialisation runs
//! again. Each round removes a key, so the loop ends. Semantic validation
//! then runs on the result, skipping keys already reported. Syntax errors,
//! type errors and semantic problems all come out of one run.

use std::path::Path;

use config::{Config, ConfigError as RawError, Environment, Map, Source, Value, ValueKind};
use serde::Deserialize;

use super::error::{ConfigError, ConfigProblem, Origin};
use super::file::{self, ConfigFile};
use super::paths;
use super::secret_file;
use super::sections::Settings;
use super::tree::{
    self, ENV_ORIGIN, ENV_PREFIX, ENV_SEPARATOR, Table, origin_of, overlaps, table_at,
};
use crate::policy::{CallingWindow, WindowSpec};

/// Keys whose environment value is a comma-separated list, as paths.
const LIST_KEYS: &[&[&str]] = &[
    &["dialer", "retry_backoff_secs"],
    &["policy", "calling_window", "weekdays"],
    &["policy", "calling_window", "ranges"],
    &["policy", "calling_window", "holidays"],
    &["policy", "calling_window", "holiday_files"],
    &["policy", "number_plan"],
    &["reports", "departments"],
    &["redis", "sentinels"],
    &["redis", "cluster_nodes"],
];

/// The calling window is checked as a whole; its problems are split back
/// into its keys.
const WINDOW_KEY: &str = "policy.calling_window";

/// Loads settings from `path` overridden by the process environment.
pub fn load_from_process_env(path: &Path) -> Result<Settings, ConfigError> {
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not panic.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    load(path, env)
}

/// Loads settings from the TOML file at `path`, overridden by `env` (pairs of
/// variable name and value; only `SAMPARK__*` names are used), and validates
/// them. Every problem found is in the error, each naming where its value
/// came from.
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut problems = Vec::new();
    let ConfigFile { table, broken, dir } = file::read(path, &mut problems);
    let env = env_config(env, &mut problems);
    let mut tree = merge(FileSource(table.clone()), env, &mut problems);
    file::restore_table_origins(&mut tree, &table);
    split_env_lists(&mut tree);
    paths::resolve(&mut tree, &dir);
    secret_file::apply(&mut tree, &dir, path, &mut problems);
    let settings = deserialize_all(&mut tree, path, &mut problems);

    if let Some(settings) = &settings {
        let flagged: Vec<String> = problems
            .iter()
            .filter_map(|p| p.key().map(str::to_owned))
            .collect();
        for (key, reason) in settings.problems() {
            if flagged.iter().any(|f| overlaps(f, &key)) {
                continue;
            }
            let origin = origin_of(&tree, &key, path);
            // With part of the file unreadable, a key "not set" may well be
            // set on a line that was lost: no complaint about its default.
            if broken && origin == Origin::Default {
                continue;
            }
            problems.push(ConfigProblem::Invalid {
                key,
                origin,
                reason,
            });
        }
    }
    match settings {
        Some(settings) if problems.is_empty() => Ok(settings),
        _ => {
            problems.sort_by_key(rank);
            Err(ConfigError::new(problems))
        }
    }
}

/// The parsed file as a source for the `config` crate's merge.
#[derive(Clone, Debug)]
struct FileSource(Table);

impl Source for FileSource {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, RawError> {
        Ok(self.0.clone())
    }
}

fn env_config(
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Config> {
    let wanted = format!("{ENV_PREFIX}{ENV_SEPARATOR}");
    let vars: Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.len() >= wanted.len() && k[..wanted.len()].eq_ignore_ascii_case(&wanted))
        .collect();
    // No `try_parsing`: it would turn a token like "0123" into the number 123.
    // Values stay strings; the deserialiser converts them to the key's type.
    let source = Environment::with_prefix(ENV_PREFIX)
        .separator(ENV_SEPARATOR)
        .source(Some(vars));
    match Config::builder().add_source(source).build() {
        Ok(config) => Some(config),
        Err(e) => {
            problems.push(ConfigProblem::Other(format!("environment: {e}")));
            None
        }
    }
}

fn merge(file: FileSource, env: Option<Config>, problems: &mut Vec<ConfigProblem>) -> Table {
    let builder = Config::builder().add_source(file);
    let builder = match env {
        Some(env) => builder.add_source(env),
        None => builder,
    };
    match builder.build().and_then(|c| c.collect()) {
        Ok(tree) => tree,
        Err(e) => {
            problems.push(ConfigProblem::Other(e.to_string()));
            Table::new()
        }
    }
}

/// `SAMPARK__DIALER__RETRY_BACKOFF_SECS=60,600` → a list of two values.
fn split_env_lists(tree: &mut Table) {
    for path in LIST_KEYS {
        let Some((key, parents)) = path.split_last() else {
            continue;
        };
        let Some(value) = table_at(tree, parents).and_then(|t| t.get_mut(*key)) else {
            continue;
        };
        if value.origin() != Some(ENV_ORIGIN) {
            continue;
        }
        if let ValueKind::String(raw) = &value.kind {
            let origin = ENV_ORIGIN.to_owned();
            let items = raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::new(Some(&origin), s))
                .collect::<Vec<_>>();
            *value = Value::new(Some(&origin), items);
        }
    }
}

/// What a deserialisation error is about.
enum Fault {
    Unknown { key: String },
    Value { key: String, reason: String },
    Unplaced(String),
}

fn deserialize_all(
    tree: &mut Table,
    file: &Path,
    problems: &mut Vec<ConfigProblem>,
) -> Option<Settings> {
    loop {
        let root = Value::new(None, ValueKind::Table(tree.clone()));
        let err = match Settings::deserialize(root) {
            Ok(settings) => return Some(settings),
            Err(e) => e,
        };
        let key = match classify(err) {
            Fault::Unplaced(message) => {
                problems.push(ConfigProblem::Other(message));
                return None;
            }
            Fault::Unknown { key } => {
                let origin = origin_of(tree, &key, file);
                problems.push(ConfigProblem::UnknownKey {
                    key: key.clone(),
                    origin,
                });
                key
            }
            Fault::Value { key, reason } => {
                // The window's own check lists its problems key by key.
                if key != WINDOW_KEY || !window_problems(tree, file, problems) {
                    let origin = origin_of(tree, &key, file);
                    problems.push(ConfigProblem::WrongType {
                        key: key.clone(),
                        origin,
                        reason,
                    });
                }
                key
            }
        };
        // A key we cannot remove would fail the same way forever.
        tree::remove(tree, &key)?;
    }
}

/// The calling window's problems, one per key it names (`zone`,
/// `ranges[1]`, `holiday_files[0]`, …) each with its own origin. False when
/// the window cannot be re-read to list them (then it is one problem).
fn window_problems(tree: &Table, file: &Path, problems: &mut Vec<ConfigProblem>) -> bool {
    let Some(value) = tree::find(tree, WINDOW_KEY) else {
        return false;
    };
    let Ok(spec) = WindowSpec::deserialize(value.clone()) else {
        return false;
    };
    let Err(found) = CallingWindow::from_spec(&spec) else {
        return false;
    };
    for problem in found {
        // `from_spec` starts every problem with the field it is about.
        let (field, reason) = problem.split_once(": ").unwrap_or(("", &problem));
        let key = if field.is_empty() {
            WINDOW_KEY.to_owned()
        } else {
            format!("{WINDOW_KEY}.{field}")
        };
        let origin = match origin_of(tree, &key, file) {
            // A field left out (no weekdays, no ranges) is the window's.
            Origin::Default => origin_of(tree, WINDOW_KEY, file),
            known => known,
        };
        problems.push(ConfigProblem::Invalid {
            key,
            origin,
            reason: reason.to_owned(),
        });
    }
    true
}

fn classify(err: RawError) -> Fault {
    match err {
        RawError::Type {
            key: Some(key),
            unexpected,
            expected,
            ..
        } => Fault::Value {
            key,
            reason: format!("expected {expected}, found {unexpected}"),
        },
        RawError::At { error, key, .. } => {
            let inner = error.to_string();
            match (unknown_field(&inner), key) {
                (Some(field), Some(parent)) => Fault::Unknown {
                    key: format!("{parent}.{field}"),
                },
                (Some(field), None) => Fault::Unknown {
                    key: field.to_owned(),
                },
                (None, Some(key)) => Fault::Value { key, reason: inner },
                (None, None) => Fault::Unplaced(inner),
            }
        }
        RawError::Message(m) => match unknown_field(&m) {
            Some(field) => Fault::Unknown {
                key: field.to_owned(),
            },
            None => Fault::Unplaced(m),
        },
        other => Fault::Unplaced(other.to_string()),
    }
}

/// serde's wording for `deny_unknown_fields`: "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split_once('`').map(|(field, _)| field)
}

/// Problems in the order an operator fixes them: the file, then what could
/// not be placed, then by line within the file, then the environment, then
/// defaults, each by key.
fn rank(p: &ConfigProblem) -> (u8, usize, String) {
    let key = p.key().unwrap_or_default().to_owned();
    match p {
        ConfigProblem::Unreadable { .. } => (0, 0, String::new()),
        ConfigProblem::Syntax { line, .. } => (1, *line, String::new()),
        ConfigProblem::Other(m) => (2, 0, m.clone()),
        keyed => match keyed.origin() {
            Some(Origin::File { line, .. }) => (1, line.unwrap_or(0), key),
            Some(Origin::Env(_)) => (3, 0, key),
            _ => (4, 0, key),
        },
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
