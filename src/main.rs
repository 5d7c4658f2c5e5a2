//! `sampark`: parse the command line and hand over to `cli::run`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator: the webhook path and the dialer
/// allocate small, short-lived values on one tokio worker and free them on
/// another, where glibc's allocator took a quarter to a third of the
/// daemon's CPU (docs/performance.md, "The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sampark::cli::run(sampark::cli::Cli::parse())
}
