//! A problem found in a dialplan file, with where it is.
//!
//! Owns: the `Problem` type, its `file:line:col: path: message` rendering and
//! the byte-offset → line/column conversion. Does not own: deciding what is
//! a problem (see `parse`).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A 1-based line and column (columns count characters, not bytes, so they
/// stay right on lines with Odia or Devanagari text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `src` (clamped to the end, and to the
    /// start of a character if it falls inside one).
    pub fn of_offset(src: &str, offset: usize) -> Position {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &src[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Position { line, column }
    }
}

/// One thing wrong with a dialplan file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// Where in the file, when the problem can be pinned to a place.
    pub position: Option<Position>,
    /// The dotted path of the offending value, e.g.
    /// `questions[1].choices[0].digits`; empty for syntax errors.
    pub path: String,
    pub message: String,
}

impl Problem {
    /// A problem at byte range `span` of `src`.
    pub fn at(file: &Path, src: &str, span: Range<usize>, path: &str, message: String) -> Self {
        Problem {
            file: file.to_path_buf(),
            position: Some(Position::of_offset(src, span.start)),
            path: path.to_owned(),
            message,
        }
    }

    /// A problem with the file as a whole (e.g. it cannot be read).
    pub fn whole_file(file: &Path, message: String) -> Self {
        Problem {
            file: file.to_path_buf(),
            position: None,
            path: String::new(),
            message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.position {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let src = "a = 1\nb = \"ଓଡ଼ିଆ\" x\n";
        assert_eq!(Position::of_offset(src, 0), Position { line: 1, column: 1 });
        assert_eq!(Position::of_offset(src, 6), Position { line: 2, column: 1 });
        let x = src.find('x').unwrap();
        // "b = " (4) + quote + 5 Odia chars + quote + space = 12 characters before x.
        assert_eq!(
            Position::of_offset(src, x),
            Position {
                line: 2,
                column: 13
            }
        );
        assert_eq!(Position::of_offset(src, 10_000).line, 3);
        // Inside a multi-byte character: clamps back to its start.
        let inside = src.find('ଓ').unwrap() + 1;
        assert_eq!(Position::of_offset(src, inside).column, 6);
    }

    #[test]
    fn display_is_file_line_col_path_message() {
        let p = Problem::at(
            Path::new("dialplans/x.toml"),
            "a\nbc",
            3..4,
            "questions[1].choices[0].digits",
            "bad".into(),
        );
        assert_eq!(
            p.to_string(),
            "dialplans/x.toml:2:2: questions[1].choices[0].digits: bad"
        );
        let w = Problem::whole_file(Path::new("f.toml"), "cannot read".into());
        assert_eq!(w.to_string(), "f.toml: cannot read");
    }
}
