//! Loading every dialplan in a directory, and checking a single file.
//!
//! Owns: the file layout (one `<name>.toml` per dialplan, name = file stem)
//! and `Dialplans`, the loaded set shared across the daemon. Does not own:
//! the format rules (see `parse`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::model::Dialplan;
use super::parse::parse_str;
use super::problem::Problem;

/// The loaded dialplans, by name.
#[derive(Clone, Debug, Default)]
pub struct Dialplans {
    plans: BTreeMap<String, Arc<Dialplan>>,
}

impl Dialplans {
    /// A set from already-parsed plans (tests, embedded demo). A later plan
    /// with the same name replaces an earlier one.
    pub fn from_plans(plans: impl IntoIterator<Item = Dialplan>) -> Self {
        Dialplans {
            plans: plans
                .into_iter()
                .map(|p| (p.name().to_owned(), Arc::new(p)))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Dialplan>> {
        self.plans.get(name).cloned()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.plans.contains_key(name)
    }

    /// Names in sorted order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.plans.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.plans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }
}

/// Loads every `*.toml` in `dir` (not recursing). Any problem in any file
/// fails the whole load, with every problem of every file reported, so a
/// daemon never starts with half its dialplans.
pub fn load_dir(dir: &Path) -> Result<Dialplans, Vec<Problem>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![Problem::whole_file(
            dir,
            format!("cannot read directory: {e}"),
        )]
    })?;
    let mut paths = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(e) => problems.push(Problem::whole_file(dir, format!("cannot list: {e}"))),
        }
    }
    paths.retain(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file());
    paths.sort();
    if paths.is_empty() && problems.is_empty() {
        problems.push(Problem::whole_file(
            dir,
            "no dialplan (*.toml) files".into(),
        ));
    }
    let mut plans = Vec::new();
    for path in &paths {
        match load_file(path) {
            Ok(plan) => plans.push(plan),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(Dialplans::from_plans(plans))
    } else {
        Err(problems)
    }
}

/// Every problem in one dialplan file; empty when it is valid.
pub fn check_file(path: &Path) -> Vec<Problem> {
    load_file(path).err().unwrap_or_default()
}

/// Reads and parses one file; its `name` must equal the file stem.
pub fn load_file(path: &Path) -> Result<Dialplan, Vec<Problem>> {
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![Problem::whole_file(path, format!("cannot read: {e}"))])?;
    let stem = path.file_stem().and_then(|s| s.to_str());
    let Some(stem) = stem else {
        return Err(vec![Problem::whole_file(
            path,
            "the file name is not valid UTF-8".into(),
        )]);
    };
    parse_str(path, &src, Some(stem))
}
