//! Reading the configuration file: TOML parsed with error recovery, so one
//! syntax error does not hide the others (nor the type and semantic problems
//! of the lines that did parse), and every value tagged with the line it is
//! on, so any later problem names `file:line`.
//!
//! Owns: the file's text → the `config` crate's value tree. A value on a line
//! with a syntax error is left out (the parser's guess at it could be
//! anything), and the file is marked broken: later checks must not complain
//! about a key that is missing, since it may be on such a line.

use std::ops::Range;
use std::path::{Path, PathBuf};

use config::{Map, Value, ValueKind};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::{ConfigProblem, Origin};

type Table = Map<String, Value>;

/// How a file value's origin reads in the tree: this prefix and its line.
/// (The environment's values carry the `config` crate's own origin.)
const LINE_TAG: &str = "config file line ";

/// The configuration file, as far as it could be read.
pub(super) struct ConfigFile {
    /// Every value that parsed, each with its line as origin.
    pub table: Table,
    /// Unreadable, or with syntax errors: some keys may be missing from
    /// `table` that the operator did write.
    pub broken: bool,
    /// The file's directory, absolute: relative paths in it start there.
    pub dir: PathBuf,
}

/// Reads and parses `path`; every problem goes to `problems`.
pub(super) fn read(path: &Path, problems: &mut Vec<ConfigProblem>) -> ConfigFile {
    let dir = file_dir(path);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.push(ConfigProblem::Unreadable {
                path: path.to_owned(),
                reason: e.to_string(),
            });
            return ConfigFile {
                table: Table::new(),
                broken: true,
                dir,
            };
        }
    };
    let lines = Lines::new(&text);
    let (parsed, errors) = DeTable::parse_recoverable(&text);
    let mut bad_lines = Vec::new();
    for error in &errors {
        let at = error.span().map_or(0, |span| span.start);
        let (line, column) = lines.position(at);
        // After one error the parser's view of the rest of a line is noise.
        if bad_lines.contains(&line) {
            continue;
        }
        bad_lines.push(line);
        problems.push(ConfigProblem::Syntax {
            path: path.to_owned(),
            line,
            column,
            reason: error.message().trim().to_owned(),
        });
    }
    let mut convert = Convert {
        path,
        lines: &lines,
        bad_lines: &bad_lines,
        problems,
    };
    let table = convert.table(parsed.get_ref(), "");
    ConfigFile {
        table,
        broken: !errors.is_empty(),
        dir,
    }
}

/// Gives the tables of `merged` that came from the file their line again:
/// the `config` crate's merge rebuilds tables without an origin.
pub(super) fn restore_table_origins(merged: &mut Table, file: &Table) {
    for (key, value) in merged.iter_mut() {
        let Some(written) = file.get(key) else {
            continue;
        };
        if let (ValueKind::Table(inner), ValueKind::Table(written_inner)) =
            (&mut value.kind, &written.kind)
        {
            restore_table_origins(inner, written_inner);
            if value.origin().is_none() && written.origin().is_some() {
                let kind = std::mem::replace(&mut value.kind, ValueKind::Nil);
                *value = Value::new(written.origin().map(str::to_owned).as_ref(), kind);
            }
        }
    }
}

/// The origin a tree value records: `Some(line)` for a value of the file.
pub(super) fn line_of(origin: Option<&str>) -> Option<usize> {
    origin?.strip_prefix(LINE_TAG)?.parse().ok()
}

/// The directory of `path`, made absolute (against the working directory)
/// so that paths resolved against it, and errors naming them, are complete.
fn file_dir(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    super::paths::absolute(&dir)
}

/// Byte offsets → 1-based line and column.
struct Lines {
    /// Byte offset at which each line starts.
    starts: Vec<usize>,
    text_len: usize,
}

impl Lines {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines {
            starts,
            text_len: text.len(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.line(offset.min(self.text_len));
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        (line, offset.saturating_sub(start) + 1)
    }

    /// The lines a span covers (an empty span: its own line).
    fn covered(&self, span: &Range<usize>) -> Range<usize> {
        let first = self.line(span.start);
        let last = self.line(span.end.saturating_sub(1).max(span.start));
        first..last + 1
    }
}

struct Convert<'a> {
    path: &'a Path,
    lines: &'a Lines,
    bad_lines: &'a [usize],
    problems: &'a mut Vec<ConfigProblem>,
}

impl Convert<'_> {
    /// Whether a syntax error sits on a line the span covers.
    fn touches_error(&self, span: Range<usize>) -> bool {
        // A value the parser invented while recovering has an empty span at
        // the very start; no real value does.
        if span == (0..0) {
            return !self.bad_lines.is_empty();
        }
        let covered = self.lines.covered(&span);
        self.bad_lines.iter().any(|line| covered.contains(line))
    }

    fn origin(&self, span: &Range<usize>) -> String {
        format!("{LINE_TAG}{}", self.lines.line(span.start))
    }

    fn table(&mut self, table: &DeTable<'_>, parent: &str) -> Table {
        let mut out = Table::new();
        for (key, value) in table.iter() {
            let name = key.get_ref().as_ref();
            let dotted = if parent.is_empty() {
                name.to_owned()
            } else {
                format!("{parent}.{name}")
            };
            let skip = self.touches_error(key.span())
                || (!matches!(value.get_ref(), DeValue::Table(_))
                    && self.touches_error(value.span()));
            if skip {
                continue;
            }
            let origin = self.origin(&key.span());
            if let Some(converted) = self.value(value, &dotted, &origin) {
                out.insert(name.to_owned(), converted);
            }
        }
        out
    }

    /// `None` for a value no setting can hold (an integer beyond 64 bits),
    /// reported as a problem of its key.
    fn value(&mut self, value: &Spanned<DeValue<'_>>, key: &str, origin: &String) -> Option<Value> {
        let origin = Some(origin);
        let kind = match value.get_ref() {
            DeValue::String(s) => ValueKind::String(s.to_string()),
            DeValue::Boolean(b) => ValueKind::Boolean(*b),
            DeValue::Datetime(d) => ValueKind::String(d.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => ValueKind::I64(n),
                Err(_) => return self.out_of_range(key, value, format!("integer {i}")),
            },
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(x) if x.is_finite() || f.as_str().contains("inf") => ValueKind::Float(x),
                _ => return self.out_of_range(key, value, format!("number {f}")),
            },
            DeValue::Table(inner) => ValueKind::Table(self.table(inner, key)),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_origin = self.origin(&item.span());
                    let item_key = format!("{key}[{i}]");
                    out.push(self.value(item, &item_key, &item_origin)?);
                }
                ValueKind::Array(out)
            }
        };
        Some(Value::new(origin, kind))
    }

    fn out_of_range(
        &mut self,
        key: &str,
        value: &Spanned<DeValue<'_>>,
        what: String,
    ) -> Option<Value> {
        self.problems.push(ConfigProblem::WrongType {
            key: key.to_owned(),
            origin: Origin::File {
                path: self.path.to_owned(),
                line: Some(self.lines.line(value.span().start)),
            },
            reason: format!("{what} is out of range"),
        });
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Table, Vec<ConfigProblem>, bool) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        let mut problems = Vec::new();
        let file = read(f.path(), &mut problems);
        (file.table, problems, file.broken)
    }

    fn section<'a>(t: &'a Table, name: &str) -> &'a Table {
        match &t[name].kind {
            ValueKind::Table(inner) => inner,
            other => panic!("{name} is {other:?}"),
        }
    }

    #[test]
    fn values_carry_their_line() {
        let (t, problems, broken) = parse("# top\n[redis]\n\nshards = 8\nurl = \"redis://h/\"\n");
        assert!(problems.is_empty() && !broken, "{problems:?}");
        let redis = section(&t, "redis");
        assert_eq!(line_of(redis["shards"].origin()), Some(4));
        assert_eq!(line_of(redis["url"].origin()), Some(5));
        assert_eq!(line_of(t["redis"].origin()), Some(2));
    }

    #[test]
    fn every_syntax_error_is_reported_and_only_its_lines_are_lost() {
        let text = "[redis]\nurl = \"open\nshards = 3\n[dialer]\nbatch_size = = 3\nmax_attempts = 4\n[webhook\nlisten = 1\n";
        let (t, problems, broken) = parse(text);
        assert!(broken);
        let lines: Vec<usize> = problems
            .iter()
            .filter_map(|p| match p {
                ConfigProblem::Syntax { line, .. } => Some(*line),
                _ => None,
            })
            .collect();
        for line in [2, 5, 7] {
            assert!(lines.contains(&line), "line {line} in {problems:?}");
        }
        let redis = section(&t, "redis");
        assert!(!redis.contains_key("url"), "a broken value is left out");
        assert!(redis.contains_key("shards"));
        let dialer = section(&t, "dialer");
        assert!(!dialer.contains_key("batch_size"));
        assert!(dialer.contains_key("max_attempts"));
        assert!(
            !t.contains_key("webhook"),
            "a broken header loses its table"
        );
    }

    #[test]
    fn an_integer_beyond_64_bits_is_a_problem_of_its_key() {
        let (t, problems, broken) = parse("[redis]\nshards = 99999999999999999999\n");
        assert!(!broken);
        assert!(!section(&t, "redis").contains_key("shards"));
        assert!(
            matches!(&problems[..], [ConfigProblem::WrongType { key, origin: Origin::File { line: Some(2), .. }, .. }] if key == "redis.shards"),
            "{problems:?}"
        );
    }

    #[test]
    fn positions_are_one_based() {
        let lines = Lines::new("ab\ncd\n");
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(4), (2, 2));
        assert_eq!(lines.position(6), (3, 1));
        assert_eq!(lines.covered(&(1..4)), 1..3);
    }
}
