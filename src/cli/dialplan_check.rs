//! `sampark dialplan check PATH...`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::dialplan::{Problem, check_file, load_dir};

#[derive(Debug, Subcommand)]
pub enum DialplanCommand {
    /// Validate dialplans; print every problem with its location. A
    /// directory is checked as `serve` loads it: every `*.toml` in it, and
    /// the plans must agree on each flag's severity. A file is checked alone.
    Check {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

pub fn command(cmd: DialplanCommand) -> anyhow::Result<ExitCode> {
    let DialplanCommand::Check { paths } = cmd;
    let mut failed = 0;
    for path in &paths {
        match check(path) {
            Ok(verdict) => println!("{}: {verdict}", path.display()),
            Err(problems) => {
                failed += 1;
                for p in &problems {
                    println!("{p}");
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} dialplan path(s) have problems", paths.len());
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// `ok` (naming the plans of a directory), or every problem.
fn check(path: &Path) -> Result<String, Vec<Problem>> {
    if path.is_dir() {
        let plans = load_dir(path)?;
        let names: Vec<&str> = plans.names().collect();
        return Ok(format!("ok ({})", names.join(", ")));
    }
    let problems = check_file(path);
    if problems.is_empty() {
        Ok("ok".to_owned())
    } else {
        Err(problems)
    }
}
