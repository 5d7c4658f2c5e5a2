//! Command-line commands. Each command module parses nothing itself: clap
//! does, here; they wire parts together and report.

mod campaign;
mod configured;
mod control;
mod demo;
mod demo_provider;
mod dialplan_check;
mod dnc;
mod escalations;
mod intake_status;
mod officials;
mod privacy;
mod provider_urls;
mod real_time;
mod redis_ops;
mod registry;
mod report;
mod serve;
mod simulate;
mod submit;
mod summary;
mod waiting;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use demo::{DemoOptions, DemoSummary, run_demo};
pub use summary::{EscalationLine, ScoreLine};

/// sampark — citizen-feedback phone campaigns.
#[derive(Debug, Parser)]
#[command(name = "sampark", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a whole campaign in-process: in-memory store, built-in provider
    /// simulator, the sample dialplan. No Redis needed.
    Demo(demo::DemoArgs),
    /// Run the daemon.
    Serve {
        /// Configuration file (overridden by SAMPARK__SECTION__KEY variables).
        #[arg(long, default_value = "config/sampark.toml")]
        config: PathBuf,
        /// Start even though opt-out markers of an earlier version were not
        /// upgraded (`sampark dnc upgrade`): those citizens may be called.
        /// Logged at ERROR.
        #[arg(long)]
        accept_legacy_optouts: bool,
        /// Only check: load the settings, the dialplans, the TLS files, the
        /// provider settings and the secrets as `serve` would, print every
        /// problem and exit (0: it would start; 2: it would not). Needs no
        /// Redis and binds no port.
        #[arg(long)]
        check: bool,
    },
    /// Manage the do-not-call list; upgrade old opt-out markers.
    #[command(subcommand)]
    Dnc(dnc::DncCommand),
    /// Submit and inspect campaigns.
    #[command(subcommand)]
    Campaign(campaign::CampaignCommand),
    /// Run the provider simulator (Twilio's or Exotel's wire format).
    // Boxed: its flags make it the one outsized variant.
    SimulateProvider(Box<simulate::SimulateArgs>),
    /// Print the URLs to set once on the provider's side (the programme
    /// number's inbound routes), as the configured provider needs them.
    ProviderUrls(provider_urls::ProviderUrlsArgs),
    /// Work with dialplan files.
    #[command(subcommand)]
    Dialplan(dialplan_check::DialplanCommand),
    /// Inspect the daemon's Redis; resume dialling after it came back empty.
    #[command(subcommand)]
    Redis(redis_ops::RedisCommand),
    /// List, show and acknowledge escalations (flags someone must act on).
    #[command(subcommand)]
    Escalations(escalations::EscalationsCommand),
    /// Ranked reports from the scorecards (`--by`), or `rebuild` them from
    /// the feedback stream.
    Report(report::ReportArgs),
    /// The officials' registry: import a file of officials (CSV or JSON),
    /// list, show and remove them. Numbers are always shown masked.
    #[command(subcommand)]
    Officials(registry::OfficialsCommand),
    /// Personal data: erase everything held about one number.
    #[command(subcommand)]
    Privacy(privacy::PrivacyCommand),
}

/// What `run` runs once the runtime is up.
enum Job {
    /// The daemon, its settings loaded (they size the runtime).
    Serve(Box<crate::config::Settings>, bool),
    Other(Box<Command>),
}

/// Runs the parsed command and maps the result to an exit code.
pub fn run(cli: Cli) -> ExitCode {
    // The daemon sizes its runtime from its settings (`[runtime]`), so it
    // reads them before the runtime starts; the simulator from its flags.
    let (worker_threads, job) = match cli.command {
        Command::Serve {
            config,
            check: false,
            accept_legacy_optouts,
        } => match crate::config::load_from_process_env(&config) {
            Ok(settings) => (
                settings.runtime.worker_threads,
                Job::Serve(Box::new(settings), accept_legacy_optouts),
            ),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        },
        Command::SimulateProvider(args) => (
            args.worker_threads,
            Job::Other(Box::new(Command::SimulateProvider(args))),
        ),
        other => (0, Job::Other(Box::new(other))),
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if worker_threads > 0 {
        builder.worker_threads(worker_threads);
    }
    let runtime = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        let command = match job {
            Job::Serve(settings, accept_legacy_optouts) => {
                return serve::command(*settings, accept_legacy_optouts).await;
            }
            Job::Other(command) => command,
        };
        match *command {
            Command::Demo(args) => demo::command(args).await,
            // Only `serve --check` is left here.
            Command::Serve { config, .. } => serve::check(&config),
            Command::Dnc(cmd) => dnc::command(cmd).await,
            Command::Campaign(cmd) => campaign::command(cmd).await,
            Command::SimulateProvider(args) => simulate::command(*args).await,
            Command::ProviderUrls(args) => provider_urls::command(args),
            Command::Dialplan(cmd) => dialplan_check::command(cmd),
            Command::Redis(cmd) => redis_ops::command(cmd).await,
            Command::Escalations(cmd) => escalations::command(cmd).await,
            Command::Report(args) => report::command(args).await,
            Command::Officials(cmd) => registry::command(cmd).await,
            Command::Privacy(cmd) => privacy::command(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand's arguments are well formed (unique names, valid
    /// `requires`): clap checks a command only when it is run, so one
    /// never run by a test would fail first in an operator's hands.
    #[test]
    fn every_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
