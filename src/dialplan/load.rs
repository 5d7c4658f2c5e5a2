//! Loading every dialplan in a directory, and checking a single file.
//!
//! Owns: the file layout (one `<name>.toml` per dialplan, name = file stem),
//! `Dialplans`, the loaded set shared across the daemon, and the rule that
//! the loaded plans agree on every escalating flag's severity. Does not own:
//! the format rules (see `parse`), what the scoring rules do (see
//! `domain::escalation`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::{ScoringRules, Severity};

use super::model::Dialplan;
use super::parse::parse_str;
use super::problem::Problem;

/// The loaded dialplans, by name, and the scoring rules they agree on.
#[derive(Clone, Debug, Default)]
pub struct Dialplans {
    plans: BTreeMap<String, Arc<Dialplan>>,
    rules: ScoringRules,
}

/// Two dialplans give one flag different severities. A feedback record
/// carries no dialplan name, so the rules of every plan apply to every
/// record, and they must agree.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "flag {flag:?} escalates as {first_severity} in dialplan {first_plan} \
     and as {second_severity} in dialplan {second_plan}"
)]
pub struct SeverityConflict {
    pub flag: String,
    pub first_plan: String,
    pub first_severity: Severity,
    pub second_plan: String,
    pub second_severity: Severity,
}

impl Dialplans {
    /// A set from already-parsed plans (tests, embedded demo). A later plan
    /// with the same name replaces an earlier one. Plans that give one flag
    /// two severities are refused.
    pub fn from_plans(
        plans: impl IntoIterator<Item = Dialplan>,
    ) -> Result<Dialplans, SeverityConflict> {
        let plans: BTreeMap<String, Arc<Dialplan>> = plans
            .into_iter()
            .map(|p| (p.name().to_owned(), Arc::new(p)))
            .collect();
        let rules = merged_rules(plans.values().map(AsRef::as_ref))?;
        Ok(Dialplans { plans, rules })
    }

    /// The merge of every plan's `Dialplan::scoring_rules`: each flag's
    /// severity (on which the plans agree) and every rating question.
    pub fn scoring_rules(&self) -> ScoringRules {
        self.rules.clone()
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

/// Every plan's rules in one, or the first flag (in plan-name order) that
/// two plans give different severities.
fn merged_rules<'a>(
    plans: impl IntoIterator<Item = &'a Dialplan>,
) -> Result<ScoringRules, SeverityConflict> {
    // Each flag's severity and the first plan to give it one, to name in a
    // conflict (`ScoringRules::merge` knows no plan names).
    let mut severities: BTreeMap<&str, (Severity, &str)> = BTreeMap::new();
    let mut rating_questions = Vec::new();
    for plan in plans {
        for (flag, &severity) in &plan.escalations {
            let (first_severity, first_plan) = *severities
                .entry(flag.as_str())
                .or_insert((severity, plan.name()));
            if first_severity != severity {
                return Err(SeverityConflict {
                    flag: flag.clone(),
                    first_plan: first_plan.to_owned(),
                    first_severity,
                    second_plan: plan.name().to_owned(),
                    second_severity: severity,
                });
            }
        }
        rating_questions.extend(plan.rating_question.clone());
    }
    Ok(ScoringRules::new(
        severities
            .into_iter()
            .map(|(flag, (severity, _))| (flag.to_owned(), severity)),
        rating_questions,
    ))
}

/// Loads every `*.toml` in `dir` (not recursing). Any problem in any file,
/// or plans that disagree on a flag's severity, fails the whole load, with
/// every problem of every file reported, so a daemon never starts with half
/// its dialplans.
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
    let mut files = BTreeMap::new();
    for path in &paths {
        match load_file(path) {
            Ok(plan) => {
                files.insert(plan.name().to_owned(), path.clone());
                plans.push(plan);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    // The plans that did load are checked against each other even when
    // another file has problems, so one run reports everything.
    match Dialplans::from_plans(plans) {
        Ok(plans) if problems.is_empty() => Ok(plans),
        Ok(_) => Err(problems),
        Err(conflict) => {
            problems.push(conflict_problem(&conflict, &files));
            Err(problems)
        }
    }
}

/// A conflict as a problem of the second file, naming the first.
fn conflict_problem(c: &SeverityConflict, files: &BTreeMap<String, PathBuf>) -> Problem {
    let file_of = |plan: &str| files.get(plan).cloned().unwrap_or_else(|| plan.into());
    let first = file_of(&c.first_plan);
    let mut problem = Problem::whole_file(
        &file_of(&c.second_plan),
        format!(
            "{:?} escalates as {} here but as {} in {}; records carry no dialplan \
             name, so every dialplan must give a flag the same severity",
            c.flag,
            c.second_severity,
            c.first_severity,
            first.display()
        ),
    );
    problem.path = format!("escalations.{}", c.flag);
    problem
}

/// Every problem in one dialplan file; empty when it is valid.
pub fn check_file(path: &Path) -> Vec<Problem> {
    load_file(path).err().unwrap_or_default()
}

/// Reads and parses one file; its `name` must equal the file stem.
pub fn load_file(path: &Path) -> Result<Dialplan, Vec<Problem>> {
    let src = super::limits::read_bounded(path).map_err(|p| vec![p])?;
    let stem = path.file_stem().and_then(|s| s.to_str());
    let Some(stem) = stem else {
        return Err(vec![Problem::whole_file(
            path,
            "the file name is not valid UTF-8".into(),
        )]);
    };
    parse_str(path, &src, Some(stem))
}
