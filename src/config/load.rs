//! Loading: the TOML file and `SAMPARK__*` variables merged by the `config`
//! crate, then deserialised key by key so that every unknown key and every
//! wrong type is reported, not just the first serde meets.
//!
//! How: deserialise the merged tree; on an error, find the key it names,
//! record the problem, remove that key (its default applies) and try again.
//! Each round removes a key, so the loop ends. Semantic validation then runs
//! on the result, skipping keys already reported.

use std::path::Path;

use config::{
    Config, ConfigError as RawError, Environment, File, FileFormat, Map, Source, Value, ValueKind,
};
use serde::Deserialize;

use super::error::{ConfigError, ConfigProblem, Origin};
use super::sections::Settings;

/// Environment variables named `SAMPARK__SECTION__KEY` override the file.
pub const ENV_PREFIX: &str = "SAMPARK";
const ENV_SEPARATOR: &str = "__";
/// What the `config` crate records as the origin of environment values.
const ENV_ORIGIN: &str = "the environment";
/// Keys whose environment value is a comma-separated list, as paths.
const LIST_KEYS: &[&[&str]] = &[
    &["dialer", "retry_backoff_secs"],
    &["policy", "calling_window", "weekdays"],
    &["policy", "calling_window", "ranges"],
    &["policy", "calling_window", "holidays"],
    &["policy", "calling_window", "holiday_files"],
];

type Table = Map<String, Value>;

/// Loads settings from `path` overridden by the process environment.
pub fn load_from_process_env(path: &Path) -> Result<Settings, ConfigError> {
    // vars_os: a non-UTF-8 variable elsewhere in the environment must not panic.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    load(path, env)
}

/// Loads settings from the TOML file at `path`, overridden by `env` (pairs of
/// variable name and value; only `SAMPARK__*` names are used), and validates
/// them. Every problem found is in the error.
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let mut problems = Vec::new();
    let file = file_config(path, &mut problems);
    let file_ok = file.is_some();
    let env = env_config(env, &mut problems);
    let mut tree = merge([file, env].into_iter().flatten(), &mut problems);
    split_env_lists(&mut tree);
    let settings = deserialize_all(&mut tree, path, &mut problems);

    // Without the file, semantic errors would be about defaults the operator
    // never chose; report the file problem alone instead.
    if let (Some(settings), true) = (&settings, file_ok) {
        let flagged: Vec<String> = problems
            .iter()
            .filter_map(|p| p.key().map(str::to_owned))
            .collect();
        for (key, reason) in settings.problems() {
            if !flagged.iter().any(|f| overlaps(f, &key)) {
                problems.push(ConfigProblem::Invalid { key, reason });
            }
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

fn file_config(path: &Path, problems: &mut Vec<ConfigProblem>) -> Option<Config> {
    // Read it ourselves first: the config crate folds "missing" and
    // "unreadable" into messages that do not say which.
    if let Err(e) = std::fs::read_to_string(path) {
        problems.push(ConfigProblem::Unreadable {
            path: path.to_owned(),
            reason: e.to_string(),
        });
        return None;
    }
    let source = File::from(path).format(FileFormat::Toml).required(true);
    match Config::builder().add_source(source).build() {
        Ok(config) => Some(config),
        Err(RawError::FileParse { cause, .. }) => {
            problems.push(ConfigProblem::Syntax {
                path: path.to_owned(),
                reason: cause.to_string(),
            });
            None
        }
        Err(other) => {
            problems.push(ConfigProblem::Other(format!("{}: {other}", path.display())));
            None
        }
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

fn merge(sources: impl Iterator<Item = Config>, problems: &mut Vec<ConfigProblem>) -> Table {
    let builder = sources.fold(Config::builder(), |b, c| b.add_source(c));
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

/// The table at `path` below `tree`, if every step is a table.
fn table_at<'a>(tree: &'a mut Table, path: &[&str]) -> Option<&'a mut Table> {
    path.iter()
        .try_fold(tree, |table, key| match &mut table.get_mut(*key)?.kind {
            ValueKind::Table(inner) => Some(inner),
            _ => None,
        })
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
        let (key, problem) = match classify(err) {
            Fault::Unplaced(message) => {
                problems.push(ConfigProblem::Other(message));
                return None;
            }
            Fault::Unknown { key } => {
                let origin = origin_at(tree, &key, file);
                (key.clone(), ConfigProblem::UnknownKey { key, origin })
            }
            Fault::Value { key, reason } => {
                let origin = origin_at(tree, &key, file);
                (
                    key.clone(),
                    ConfigProblem::WrongType {
                        key,
                        origin,
                        reason,
                    },
                )
            }
        };
        problems.push(problem);
        // A key we cannot remove would fail the same way forever.
        remove_path(tree, &key)?;
    }
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

/// The key of `table` that `path` descends into: the longest key equal to
/// `path` or followed in it by `.` or `[` (keys may themselves contain dots,
/// e.g. official ids in `rate.overrides`).
fn step<'a>(table: &Table, path: &'a str) -> Option<(String, &'a str)> {
    table
        .keys()
        .filter(|k| {
            path.starts_with(k.as_str())
                && matches!(path.as_bytes().get(k.len()), None | Some(b'.' | b'['))
        })
        .max_by_key(|k| k.len())
        .map(|k| (k.clone(), &path[k.len()..]))
}

fn remove_path(table: &mut Table, path: &str) -> Option<Value> {
    let (key, rest) = step(table, path)?;
    match rest.strip_prefix('.') {
        Some(rest) => match &mut table.get_mut(&key)?.kind {
            ValueKind::Table(inner) => remove_path(inner, rest),
            _ => table.remove(&key),
        },
        // Exact match, or an array element: drop the whole value.
        None => table.remove(&key),
    }
}

/// The file is the only non-environment source; the crate records it as a
/// path relative to the working directory, so name it as the operator did.
fn origin_at(table: &Table, path: &str, file: &Path) -> Origin {
    let raw = find_path(table, path).and_then(first_origin);
    match raw.as_deref() {
        Some(ENV_ORIGIN) => Origin::Env(env_var_name(path)),
        Some(_) => Origin::File(file.to_owned()),
        None => Origin::Unknown,
    }
}

fn find_path<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let (key, rest) = step(table, path)?;
    let value = table.get(&key)?;
    match (rest.strip_prefix('.'), &value.kind) {
        (Some(rest), ValueKind::Table(inner)) => find_path(inner, rest),
        _ => Some(value),
    }
}

/// Tables built from environment paths carry no origin; their leaves do.
fn first_origin(value: &Value) -> Option<String> {
    if let Some(origin) = value.origin() {
        return Some(origin.to_owned());
    }
    match &value.kind {
        ValueKind::Table(t) => t.values().find_map(first_origin),
        ValueKind::Array(a) => a.iter().find_map(first_origin),
        _ => None,
    }
}

fn env_var_name(key: &str) -> String {
    let key = key.split('[').next().unwrap_or(key);
    format!(
        "{ENV_PREFIX}{ENV_SEPARATOR}{}",
        key.replace('.', ENV_SEPARATOR).to_uppercase()
    )
}

/// Whether two dotted keys are the same or one contains the other.
fn overlaps(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.starts_with(short) && matches!(long.as_bytes().get(short.len()), None | Some(b'.' | b'['))
}

fn rank(p: &ConfigProblem) -> (u8, String) {
    match p {
        ConfigProblem::Unreadable { .. } | ConfigProblem::Syntax { .. } => (0, String::new()),
        ConfigProblem::Other(m) => (1, m.clone()),
        keyed => (2, keyed.key().unwrap_or_default().to_owned()),
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
