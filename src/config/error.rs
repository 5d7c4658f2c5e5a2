//! Configuration errors: every problem found in one load, each saying where
//! it came from (the file and line, or the environment variable), so an
//! operator fixes them all in one round.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The configuration file; `line` (1-based) when the value could be
    /// placed in it.
    File { path: PathBuf, line: Option<usize> },
    /// The environment variable that set it.
    Env(String),
    /// Set neither in the file nor in the environment: the built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}", path.display()),
            Origin::File { path, line: None } => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Default => f.write_str("built-in default (not set)"),
        }
    }
}

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// TOML that does not parse; the rest of the file is still read.
    #[error("{}:{line}:{column}: not valid TOML: {reason}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("{origin}: unknown key `{key}`")]
    UnknownKey { key: String, origin: Origin },
    #[error("{origin}: `{key}`: {reason}")]
    WrongType {
        key: String,
        origin: Origin,
        reason: String,
    },
    /// A value of the right type that makes no sense (see `Settings::validate`).
    #[error("{origin}: `{key}`: {reason}")]
    Invalid {
        key: String,
        origin: Origin,
        reason: String,
    },
    /// A loader error that could not be tied to a key.
    #[error("{0}")]
    Other(String),
}

impl ConfigProblem {
    /// The dotted key the problem is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigProblem::UnknownKey { key, .. }
            | ConfigProblem::WrongType { key, .. }
            | ConfigProblem::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Where the value the problem is about came from, if it is about one.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigProblem::UnknownKey { origin, .. }
            | ConfigProblem::WrongType { origin, .. }
            | ConfigProblem::Invalid { origin, .. } => Some(origin),
            _ => None,
        }
    }
}

/// Every problem found while loading settings (never empty).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    problems: Vec<ConfigProblem>,
}

impl ConfigError {
    pub(super) fn new(problems: Vec<ConfigProblem>) -> Self {
        Self { problems }
    }

    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "configuration has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}
