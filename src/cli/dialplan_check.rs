//! `sampark dialplan check FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::dialplan::check_file;

#[derive(Debug, Subcommand)]
pub enum DialplanCommand {
    /// Validate dialplan files; print every problem with its location.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn command(cmd: DialplanCommand) -> anyhow::Result<ExitCode> {
    let DialplanCommand::Check { files } = cmd;
    let mut failed = 0;
    for file in &files {
        let problems = check_file(file);
        if problems.is_empty() {
            println!("{}: ok", file.display());
        } else {
            failed += 1;
            for p in &problems {
                println!("{p}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} of {} dialplan file(s) have problems", files.len());
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
