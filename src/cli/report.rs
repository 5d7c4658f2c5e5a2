//! `sampark report --by …` (a ranked report from the scorecards in Redis, as
//! a table, CSV or JSON) and `sampark report rebuild` (forget the
//! scorecards and count them again from the feedback stream).
//!
//! Exit codes: 0 done; 2 bad input (a dimension, a date, a filter that does
//! not apply) or settings (or dialplans, for `rebuild`) that do not load.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use jiff::civil::Date;

use super::configured::{ConfigArgs, connect};
use crate::accountability::format::Format;
use crate::accountability::report::{ReportQuery, build_report, parse_day};
use crate::accountability::scorer::{ScoringContext, rebuild};
use crate::dialplan::load_dir;
use crate::domain::scorecard::Dimension;

/// `report` takes either the report's options or a subcommand.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub command: Option<ReportCommand>,
    #[command(flatten)]
    pub options: ReportOptions,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Forget every scorecard and count them again from the feedback
    /// stream (running daemons share the counting; every record is counted
    /// once). Only the records the stream still holds are counted.
    Rebuild {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// What to report on, and how to print it.
#[derive(Debug, Args)]
pub struct ReportOptions {
    /// What the report ranks: official, office, department or service.
    #[arg(long, required = true)]
    pub by: Option<Dimension>,
    /// Only this department's entities.
    #[arg(long)]
    pub department: Option<String>,
    /// Only this office's (reports by official or by office).
    #[arg(long)]
    pub office: Option<String>,
    /// First day included, YYYY-MM-DD in the programme's time zone (default:
    /// the first day with scorecards).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub since: Option<Date>,
    /// Last day included (default: the last day with scorecards).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub until: Option<Date>,
    /// table (for a terminal), csv (UTF-8 with a byte-order mark and CRLF,
    /// as Excel reads it) or json.
    #[arg(long, default_value = "table")]
    pub format: Format,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

pub async fn command(args: ReportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        Some(ReportCommand::Rebuild { config }) => rebuild_command(&config).await,
        None => report(&args.options).await,
    }
}

async fn report(options: &ReportOptions) -> anyhow::Result<ExitCode> {
    // INVARIANT: clap requires --by without a subcommand.
    let Some(by) = options.by else {
        eprintln!("error: --by is required (official, office, department or service)");
        return Ok(ExitCode::from(2));
    };
    let query = ReportQuery {
        by,
        department: options.department.clone(),
        office: options.office.clone(),
        since: options.since,
        until: options.until,
    };
    if let Err(e) = query.validate() {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    let settings = match options.config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let store = connect(&settings).await?;
    let report = build_report(&store, &query).await?;
    let mut text = options.format.render(&report);
    if options.format == Format::Json {
        text.push('\n');
    }
    match &options.output {
        Some(path) => {
            std::fs::write(path, text.as_bytes())
                .with_context(|| format!("cannot write the report to {}", path.display()))?;
            eprintln!(
                "wrote the report by {by} ({} rows) to {}",
                report.rows.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn rebuild_command(config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    // The rules the daemons count by: the same dialplans, merged the same way.
    let dialplans = match load_dir(&settings.dialplans.dir) {
        Ok(dialplans) => dialplans,
        Err(problems) => {
            eprintln!("error: the dialplans do not load (dialplans.dir):");
            for p in &problems {
                eprintln!("  - {p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let cx = ScoringContext {
        rules: Arc::new(dialplans.scoring_rules()),
        zone: settings.policy.calling_window.zone().clone(),
    };
    let store = connect(&settings).await?;
    let counted = rebuild(&store, &cx, "report-rebuild").await?;
    println!(
        "scorecards rebuilt: counted {} feedback record(s) (running daemons may have counted \
         others at the same time; each is counted once)",
        counted.records
    );
    if counted.skipped > 0 {
        println!(
            "skipped {} feedback entr{} that are not records",
            counted.skipped,
            if counted.skipped == 1 { "y" } else { "ies" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
