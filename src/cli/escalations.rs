//! `sampark escalations list|show|ack`: the flags someone must act on, read
//! and acknowledged in Redis directly (no daemon needed), as the admin API
//! does (`webhook/admin_reports.rs`).
//!
//! Exit codes: 0 done (an escalation acknowledged before is a success: the
//! first acknowledgement stands and is printed); 2 bad input or settings;
//! 4 no such escalation.

use std::process::ExitCode;

use clap::{Subcommand, ValueEnum};

use super::configured::{ConfigArgs, connect};
use crate::accountability::escalations::{detail, list_json, local_time, table, view_json};
use crate::domain::{Acknowledgement, Severity};
use crate::store::{AckOutcome, EscalationQuery, Store};

/// How `list` and `show` print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum EscalationsCommand {
    /// Escalations, open ones first (most urgent, then newest); only the
    /// open ones unless --all.
    List {
        /// Acknowledged ones too (after the open ones, newest first).
        #[arg(long)]
        all: bool,
        /// Only this department's.
        #[arg(long)]
        department: Option<String>,
        /// Only this severity (urgent, high or watch).
        #[arg(long)]
        severity: Option<Severity>,
        /// At most this many.
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// One escalation in full, with the citizen's answers.
    Show {
        id: String,
        #[arg(long, value_enum, default_value_t)]
        format: ListFormat,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Acknowledge an escalation: someone is acting on it. Once only: a
    /// second acknowledgement changes nothing and prints the first.
    Ack {
        id: String,
        /// Who acknowledges (an office or a person; at most 100 characters).
        #[arg(long)]
        by: String,
        /// What is being done (at most 1000 characters).
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

pub async fn command(cmd: EscalationsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EscalationsCommand::List {
            all,
            department,
            severity,
            limit,
            format,
            config,
        } => {
            let query = EscalationQuery {
                open_only: !all,
                department,
                severity,
                limit: limit.unwrap_or(0),
            };
            list(&query, format, &config).await
        }
        EscalationsCommand::Show { id, format, config } => show(&id, format, &config).await,
        EscalationsCommand::Ack {
            id,
            by,
            note,
            config,
        } => ack(&id, &by, note.as_deref(), &config).await,
    }
}

async fn list(
    query: &EscalationQuery,
    format: ListFormat,
    config: &ConfigArgs,
) -> anyhow::Result<ExitCode> {
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let views = connect(&settings).await?.escalations(query).await?;
    match format {
        ListFormat::Json => println!("{}", list_json(&views)),
        ListFormat::Table if views.is_empty() => println!(
            "no {}escalations{}",
            if query.open_only { "open " } else { "" },
            if query.department.is_some() || query.severity.is_some() {
                " matching the filters"
            } else {
                ""
            }
        ),
        ListFormat::Table => print!("{}", table(&views, settings.policy.calling_window.zone())),
    }
    Ok(ExitCode::SUCCESS)
}

/// Says there is no escalation `id`; exit 4.
fn unknown(id: &str) -> ExitCode {
    eprintln!(
        "error: no escalation {id:?} (ids look like esc-0123456789abcdef; \
         `sampark escalations list --all` lists them)"
    );
    ExitCode::from(4)
}

async fn show(id: &str, format: ListFormat, config: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let Some(view) = connect(&settings).await?.escalation(id).await? else {
        return Ok(unknown(id));
    };
    match format {
        ListFormat::Json => println!("{}", view_json(&view)),
        ListFormat::Table => print!("{}", detail(&view, settings.policy.calling_window.zone())),
    }
    Ok(ExitCode::SUCCESS)
}

async fn ack(
    id: &str,
    by: &str,
    note: Option<&str>,
    config: &ConfigArgs,
) -> anyhow::Result<ExitCode> {
    // Checked before anything is read, so bad input never needs Redis; the
    // time is Redis's, as for every other time sampark writes.
    let mut ack = match Acknowledgement::new(by, note, 0) {
        Ok(ack) => ack,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let settings = match config.settings() {
        Ok(settings) => settings,
        Err(code) => return Ok(code),
    };
    let zone = settings.policy.calling_window.zone();
    let store = connect(&settings).await?;
    ack.at_ms = store.now_ms().await?;
    match store.ack_escalation(id, &ack).await? {
        AckOutcome::Acknowledged => {
            println!(
                "acknowledged {id} (by {} at {})",
                ack.by,
                local_time(ack.at_ms, zone)
            );
        }
        AckOutcome::Already(first) => {
            println!(
                "{id} was already acknowledged by {} at {}; that acknowledgement stands",
                first.by,
                local_time(first.at_ms, zone)
            );
        }
        AckOutcome::Unknown => return Ok(unknown(id)),
    }
    Ok(ExitCode::SUCCESS)
}
