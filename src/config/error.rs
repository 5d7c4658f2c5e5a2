//! Configuration errors: every problem found in one load, each saying where
//! it came from, so an operator fixes them all in one round.

use std::fmt;
use std::path::PathBuf;

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    /// The environment variable that set it.
    Env(String),
    /// Built-in default, or a source that could not be told.
    Unknown,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Env(var) => write!(f, "environment variable {var}"),
            Origin::Unknown => f.write_str("settings"),
        }
    }
}

/// One thing wrong with the configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{} is not valid TOML: {reason}", path.display())]
    Syntax { path: PathBuf, reason: String },
    #[error("{origin}: unknown key `{key}`")]
    UnknownKey { key: String, origin: Origin },
    #[error("{origin}: `{key}`: {reason}")]
    WrongType {
        key: String,
        origin: Origin,
        reason: String,
    },
    /// A value of the right type that makes no sense (see `Settings::validate`).
    #[error("`{key}`: {reason}")]
    Invalid { key: String, reason: String },
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
