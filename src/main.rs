//! `sampark`: parse the command line and hand over to `cli::run`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    sampark::cli::run(sampark::cli::Cli::parse())
}
