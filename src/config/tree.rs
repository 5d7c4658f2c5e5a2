//! The merged settings tree (the `config` crate's values) addressed by the
//! dotted keys problems name — `redis.shards`, `rate.overrides.off-1.burst`,
//! `dialer.retry_backoff_secs[1]` — and where each value came from.
//!
//! Keys may themselves contain dots (official ids in `rate.overrides`), so a
//! dotted key is matched against the table's actual keys, longest first.

use std::path::Path;

use config::{Map, Value, ValueKind};

use super::error::Origin;
use super::file::line_of;

pub(super) type Table = Map<String, Value>;

/// Environment variables named `SAMPARK__SECTION__KEY` override the file.
pub const ENV_PREFIX: &str = "SAMPARK";
pub(super) const ENV_SEPARATOR: &str = "__";
/// What the `config` crate records as the origin of environment values.
pub(super) const ENV_ORIGIN: &str = "the environment";

/// The key of `table` that `path` descends into: the longest key equal to
/// `path` or followed in it by `.` or `[`.
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

/// `[3].rest` → (3, `.rest`).
fn index(rest: &str) -> Option<(usize, &str)> {
    let (n, rest) = rest.strip_prefix('[')?.split_once(']')?;
    Some((n.parse().ok()?, rest))
}

/// The value at a dotted key, if the tree has one.
pub(super) fn find<'a>(table: &'a Table, path: &str) -> Option<&'a Value> {
    let (key, rest) = step(table, path)?;
    descend(table.get(&key)?, rest)
}

fn descend<'a>(value: &'a Value, rest: &str) -> Option<&'a Value> {
    if rest.is_empty() {
        return Some(value);
    }
    match (&value.kind, rest.strip_prefix('.'), index(rest)) {
        (ValueKind::Table(inner), Some(rest), _) => find(inner, rest),
        (ValueKind::Array(items), _, Some((i, rest))) => descend(items.get(i)?, rest),
        // Deeper than the tree goes: the nearest value stands for it.
        _ => Some(value),
    }
}

/// Removes the value at a dotted key (an array element: the whole array).
pub(super) fn remove(table: &mut Table, path: &str) -> Option<Value> {
    let (key, rest) = step(table, path)?;
    match rest.strip_prefix('.') {
        Some(rest) => match &mut table.get_mut(&key)?.kind {
            ValueKind::Table(inner) => remove(inner, rest),
            _ => table.remove(&key),
        },
        None => table.remove(&key),
    }
}

/// The table at `path` (plain keys, no dots inside), if every step is one.
pub(super) fn table_at<'a>(tree: &'a mut Table, path: &[&str]) -> Option<&'a mut Table> {
    path.iter()
        .try_fold(tree, |table, key| match &mut table.get_mut(*key)?.kind {
            ValueKind::Table(inner) => Some(inner),
            _ => None,
        })
}

/// Where the value at `key` came from: the file's line, the environment
/// variable, or nowhere (the built-in default).
pub(super) fn origin_of(tree: &Table, key: &str, file: &Path) -> Origin {
    let Some(value) = find(tree, key) else {
        return Origin::Default;
    };
    match first_origin(value).as_deref() {
        Some(ENV_ORIGIN) => Origin::Env(env_var_name(key)),
        Some(other) => Origin::File {
            path: file.to_owned(),
            line: line_of(Some(other)),
        },
        None => Origin::Default,
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

pub(super) fn is_from_env(value: &Value) -> bool {
    value.origin() == Some(ENV_ORIGIN)
}

/// `policy.calling_window.zone` → `SAMPARK__POLICY__CALLING_WINDOW__ZONE`.
pub(super) fn env_var_name(key: &str) -> String {
    let key = key.split('[').next().unwrap_or(key);
    format!(
        "{ENV_PREFIX}{ENV_SEPARATOR}{}",
        key.replace('.', ENV_SEPARATOR).to_uppercase()
    )
}

/// Whether two dotted keys are the same or one contains the other.
pub(super) fn overlaps(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.starts_with(short) && matches!(long.as_bytes().get(short.len()), None | Some(b'.' | b'['))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(origin: &str, n: i64) -> Value {
        Value::new(Some(&origin.to_owned()), ValueKind::I64(n))
    }

    fn tree() -> Table {
        let mut rate = Table::new();
        let mut off = Table::new();
        off.insert("burst".into(), leaf("config file line 7", 3));
        rate.insert("off.1".into(), Value::new(None, ValueKind::Table(off)));
        let list = vec![leaf("config file line 2", 1), leaf("config file line 3", 2)];
        let mut t = Table::new();
        t.insert("rate".into(), Value::new(None, ValueKind::Table(rate)));
        t.insert("list".into(), Value::new(None, ValueKind::Array(list)));
        t.insert("var".into(), leaf(ENV_ORIGIN, 5));
        t
    }

    #[test]
    fn keys_with_dots_indices_and_origins() {
        let t = tree();
        let file = Path::new("/etc/s.toml");
        let at = |line| Origin::File {
            path: file.to_owned(),
            line: Some(line),
        };
        assert_eq!(origin_of(&t, "rate.off.1.burst", file), at(7));
        assert_eq!(origin_of(&t, "list[1]", file), at(3));
        assert_eq!(origin_of(&t, "list", file), at(2));
        assert_eq!(
            origin_of(&t, "var", file),
            Origin::Env("SAMPARK__VAR".into())
        );
        assert_eq!(origin_of(&t, "nope", file), Origin::Default);
        assert!(overlaps("rate.off.1", "rate.off.1.burst"));
        assert!(!overlaps("rate.of", "rate.off"));
        let mut t = t;
        assert!(remove(&mut t, "rate.off.1.burst").is_some());
        assert!(find(&t, "rate.off.1.burst").is_none());
        assert!(find(&t, "rate.off.1").is_some());
    }
}
