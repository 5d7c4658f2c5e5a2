//! Typed reading of a parsed TOML tree that records a located problem for
//! every missing field, wrong type and unknown key instead of stopping at
//! the first (serde's derive would report only one).
//!
//! Owns: walking `toml::de::DeValue` with dotted paths and spans. Does not
//! own: what the dialplan fields mean (see `parse`).

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue};

use super::problem::Problem;

pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// The dotted path of a child key.
pub(super) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of an array element.
pub(super) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// A table with its span and path, for reading fields out of it.
#[derive(Clone)]
pub(super) struct Table<'a, 'i> {
    pub table: &'a DeTable<'i>,
    pub span: Range<usize>,
    pub path: String,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn range(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn get(&self, key: &str) -> Option<&'a Value<'i>> {
        self.table.get(key)
    }

    /// The entries in file order (the parser's map is sorted by key unless
    /// `preserve_order` is on, so sort by span to report in reading order).
    pub fn entries(&self) -> Vec<(&'a str, Range<usize>, &'a Value<'i>)> {
        let mut out: Vec<_> = self
            .table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
            .collect();
        out.sort_by_key(|(_, span, _)| span.start);
        out
    }
}

/// Collects problems while reading one file.
pub(super) struct Reader<'s> {
    pub file: &'s Path,
    pub src: &'s str,
    pub problems: Vec<Problem>,
}

impl<'s> Reader<'s> {
    pub fn new(file: &'s Path, src: &'s str) -> Self {
        Reader {
            file,
            src,
            problems: Vec::new(),
        }
    }

    pub fn problem(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::at(self.file, self.src, span, path, message.into()));
    }

    /// Reports every key of `t` not in `allowed`.
    pub fn unknown_keys(&mut self, t: &Table<'_, '_>, allowed: &[&str]) {
        for (key, span, _) in t.entries() {
            if !allowed.contains(&key) {
                let expected = allowed.join(", ");
                self.problem(
                    span,
                    &key_path(&t.path, key),
                    format!("unknown key (expected one of: {expected})"),
                );
            }
        }
    }

    /// A required field: reports it missing (at the table) when absent.
    pub fn required<'a, 'i>(&mut self, t: &Table<'a, 'i>, key: &str) -> Option<&'a Value<'i>> {
        let v = t.get(key);
        if v.is_none() {
            let what = if t.path.is_empty() {
                "the file"
            } else {
                &t.path
            };
            self.problem(
                t.range(),
                &key_path(&t.path, key),
                format!("missing (required in {what})"),
            );
        }
        v
    }

    fn wrong_type(&mut self, v: &Value<'_>, path: &str, expected: &str) {
        let found = v.get_ref().type_str();
        self.problem(
            v.span(),
            path,
            format!("expected {expected}, found {found}"),
        );
    }

    pub fn as_table<'a, 'i>(&mut self, v: &'a Value<'i>, path: &str) -> Option<Table<'a, 'i>> {
        match v.get_ref() {
            DeValue::Table(table) => Some(Table {
                table,
                span: v.span(),
                path: path.to_owned(),
            }),
            _ => {
                self.wrong_type(v, path, "a table");
                None
            }
        }
    }

    pub fn as_array<'a, 'i>(&mut self, v: &'a Value<'i>, path: &str) -> Option<&'a DeArray<'i>> {
        match v.get_ref() {
            DeValue::Array(items) => Some(items),
            _ => {
                self.wrong_type(v, path, "an array");
                None
            }
        }
    }

    /// A string; an empty or blank one is reported too, since no field of a
    /// dialplan means anything when blank.
    pub fn as_string(&mut self, v: &Value<'_>, path: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                self.problem(v.span(), path, "must not be empty");
                None
            }
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(v, path, "a string");
                None
            }
        }
    }

    /// An integer within `range` (inclusive).
    pub fn as_int_in(&mut self, v: &Value<'_>, path: &str, min: u32, max: u32) -> Option<u32> {
        let DeValue::Integer(i) = v.get_ref() else {
            self.wrong_type(v, path, "an integer");
            return None;
        };
        let parsed = i64::from_str_radix(i.as_str(), i.radix()).ok();
        match parsed.and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(
                    v.span(),
                    path,
                    format!("must be between {min} and {max}, found {i}"),
                );
                None
            }
        }
    }

    /// An optional string field of `t`.
    pub fn opt_string(&mut self, t: &Table<'_, '_>, key: &str) -> Option<String> {
        let v = t.get(key)?;
        self.as_string(v, &key_path(&t.path, key))
    }

    /// A required string field of `t`.
    pub fn req_string(&mut self, t: &Table<'_, '_>, key: &str) -> Option<String> {
        let v = self.required(t, key)?;
        self.as_string(v, &key_path(&t.path, key))
    }
}
