//! `sampark campaign submit|status|list|pause|resume|cancel`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::control::{control, list};
use super::officials::officials_table;
use crate::dialplan::load_dir;
use crate::domain::{CampaignId, DocumentError, parse_campaign_document};
use crate::intake::{contacts_from_csv, inline_holiday_files, submit_document};
use crate::store::redis::RedisStore;
use crate::store::{CampaignAction, Store};

/// Where the store is (flags, else the same environment variables `serve` reads).
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// Redis URL.
    #[arg(
        long = "redis",
        env = "SAMPARK__REDIS__URL",
        default_value = "redis://127.0.0.1:6379/"
    )]
    pub url: String,
    /// Key prefix.
    #[arg(long, env = "SAMPARK__REDIS__KEY_PREFIX", default_value = "sampark")]
    pub prefix: String,
    /// Shard count (must match the daemon's `redis.shards`).
    #[arg(long, env = "SAMPARK__REDIS__SHARDS", default_value_t = 16)]
    pub shards: u16,
}

impl RedisArgs {
    pub(super) async fn connect(&self) -> anyhow::Result<RedisStore> {
        RedisStore::connect(&self.url, &self.prefix, self.shards)
            .await
            .with_context(|| format!("cannot reach Redis at {}", redact_url(&self.url)))
    }
}

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// Validate a campaign document (JSON) and put it on the intake stream.
    /// Prints the campaign id. A `.csv` file of contacts needs `--header`.
    /// Holiday files named in `calling_window.holiday_files` are read here
    /// (next to the document, else in the working directory) and their dates
    /// submitted in `calling_window.holidays`.
    Submit {
        file: PathBuf,
        /// For CSV contacts: a JSON file with the campaign's other fields
        /// (`version`, `id`, `name`, `dialplan`, `caller_id`, `department`).
        #[arg(long)]
        header: Option<PathBuf>,
        #[command(flatten)]
        redis: RedisArgs,
        /// Contacts per intake entry; larger documents are split.
        #[arg(long, default_value_t = 5_000)]
        chunk_size: usize,
        /// Dialplan directory used to check the `dialplan` name (skipped if absent).
        #[arg(long, default_value = "dialplans")]
        dialplans: PathBuf,
        /// Refuse the document if any contact is invalid or any field is
        /// unknown (default: submit with a warning per unknown field; the
        /// daemon dead-letters invalid contacts, ignores unknown fields and
        /// keeps the rest).
        #[arg(long)]
        strict: bool,
    },
    /// Stop dialling a campaign on every instance (calls in progress finish).
    Pause {
        id: String,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Dial a paused campaign again, from where it stopped.
    Resume {
        id: String,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// End every contact not yet dialled as `cancelled` (each with its
    /// record); final and idempotent.
    Cancel {
        id: String,
        /// Also hang up the campaign's calls in progress.
        #[arg(long)]
        hangup: bool,
        #[command(flatten)]
        redis: RedisArgs,
    },
    /// Every campaign with its state and progress.
    List {
        #[command(flatten)]
        redis: RedisArgs,
        /// Print one JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Print a campaign's state, contacts by state, and per official by
    /// state (the 20 officials with the most contacts waiting, unless
    /// `--officials`).
    Status {
        id: String,
        #[command(flatten)]
        redis: RedisArgs,
        /// Print one JSON object (with every official).
        #[arg(long)]
        json: bool,
        /// List every official, not only the 20 with the most contacts waiting.
        #[arg(long)]
        officials: bool,
        /// Refresh in place every N seconds (a terminal) until the campaign
        /// is done or interrupted.
        #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2")]
        watch: Option<u64>,
        /// The daemon's settings, for the estimate of when the campaign ends
        /// (quotas, provider rate, calling window). Without it, no estimate.
        #[arg(long, value_name = "PATH")]
        config: Option<std::path::PathBuf>,
    },
}

pub async fn command(cmd: CampaignCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CampaignCommand::Submit {
            file,
            header,
            redis,
            chunk_size,
            dialplans,
            strict,
        } => {
            let doc = match read_document(&file, header.as_deref()) {
                Ok(doc) => doc,
                Err(e) => {
                    eprintln!("{e:#}");
                    return Ok(ExitCode::from(2));
                }
            };
            // The holiday files are beside the file that holds the campaign's
            // fields: the document, or the `--header` of a CSV.
            let holder = header.as_deref().unwrap_or(&file);
            let (doc, file_problems) = inline_files(doc, holder.parent().unwrap_or(Path::new("")));
            let checks = Checks {
                file_problems,
                dialplans,
                strict,
            };
            submit(&file, &doc, checks, &redis, chunk_size).await
        }
        CampaignCommand::Status {
            id,
            redis,
            json,
            officials,
            watch,
            config,
        } => {
            let limits = match &config {
                Some(path) => Some(super::waiting::limits_from(path)?),
                None => None,
            };
            let view = StatusView {
                json,
                all_officials: officials,
                limits,
            };
            match watch {
                Some(secs) => super::waiting::watch(&id, &redis, &view, secs).await,
                None => status(&id, &redis, &view).await,
            }
        }
        CampaignCommand::Pause { id, redis } => control(&id, CampaignAction::Pause, &redis).await,
        CampaignCommand::Resume { id, redis } => control(&id, CampaignAction::Resume, &redis).await,
        CampaignCommand::Cancel { id, hangup, redis } => {
            control(&id, CampaignAction::Cancel { hangup }, &redis).await
        }
        CampaignCommand::List { redis, json } => list(&redis, json).await,
    }
}

/// The document to submit: the JSON file, or the CSV contacts under the
/// `--header` JSON.
fn read_document(file: &Path, header: Option<&Path>) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let is_csv = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !is_csv {
        anyhow::ensure!(header.is_none(), "--header is only for CSV contacts");
        return Ok(text);
    }
    let header = header.context("a CSV file of contacts needs --header CAMPAIGN.json")?;
    let header_text = std::fs::read_to_string(header)
        .with_context(|| format!("cannot read {}", header.display()))?;
    let mut doc: serde_json::Value = serde_json::from_str(&header_text)
        .with_context(|| format!("{} is not valid JSON", header.display()))?;
    let object = doc
        .as_object_mut()
        .with_context(|| format!("{} must hold a JSON object", header.display()))?;
    anyhow::ensure!(
        !object.contains_key("contacts"),
        "{} must not hold contacts when a CSV is given",
        header.display()
    );
    let contacts = contacts_from_csv(&text).with_context(|| file.display().to_string())?;
    object.insert("contacts".into(), serde_json::Value::Array(contacts));
    Ok(doc.to_string())
}

/// `doc` with the dates of the holiday files it names inlined (see
/// `intake::inline_holiday_files`), and every problem reading them. A
/// document that names none is returned byte for byte.
fn inline_files(doc: String, doc_dir: &Path) -> (String, Vec<String>) {
    if !doc.contains("holiday_files") {
        return (doc, Vec::new());
    }
    // Unparsable JSON is left for the document parser to report.
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&doc) else {
        return (doc, Vec::new());
    };
    let problems = inline_holiday_files(&mut value, doc_dir);
    (value.to_string(), problems)
}

/// What `submit` checks a document against.
struct Checks {
    /// Problems found reading the holiday files the document names.
    file_problems: Vec<String>,
    /// The dialplan directory (`dialplan` names are checked if it exists).
    dialplans: PathBuf,
    strict: bool,
}

async fn submit(
    file: &Path,
    doc: &str,
    checks: Checks,
    redis: &RedisArgs,
    chunk_size: usize,
) -> anyhow::Result<ExitCode> {
    let Checks {
        file_problems,
        dialplans,
        strict,
    } = checks;
    let dialplans = dialplans.as_path();
    let known = if dialplans.is_dir() {
        match load_dir(dialplans) {
            Ok(plans) => Some(plans),
            Err(problems) => {
                for p in problems {
                    eprintln!("warning: {p}");
                }
                None
            }
        }
    } else {
        None
    };
    let exists = move |name: &str| known.as_ref().is_none_or(|plans| plans.contains(name));
    let parsed = parse_campaign_document(doc, &exists);
    let mut problems = file_problems;
    match &parsed {
        Err(DocumentError::Invalid(found)) => problems.extend(found.iter().cloned()),
        Err(e @ DocumentError::Json(_)) => problems.push(e.to_string()),
        Ok(_) => {}
    }
    if !problems.is_empty() {
        // One line per problem, so each can be found and fixed.
        for p in &problems {
            eprintln!("{}: {p}", file.display());
        }
        eprintln!(
            "refused: {} problem(s) with the campaign document",
            problems.len()
        );
        return Ok(ExitCode::from(2));
    }
    let Ok(parsed) = parsed else {
        // INVARIANT: an Err added a problem above, so we returned.
        return Ok(ExitCode::from(2));
    };
    for r in &parsed.rejected {
        eprintln!(
            "{}: contacts[{}] ({}): {}",
            file.display(),
            r.index,
            r.id.as_deref().unwrap_or("no id"),
            r.reason
        );
    }
    let level = if strict { "error" } else { "warning" };
    for w in &parsed.warnings {
        eprintln!("{}: {level}: {w}", file.display());
    }
    if strict && !(parsed.rejected.is_empty() && parsed.warnings.is_empty()) {
        eprintln!(
            "refused (--strict): {} invalid contact(s), {} unknown field(s)",
            parsed.rejected.len(),
            parsed.warnings.len()
        );
        return Ok(ExitCode::from(2));
    }
    let store = redis.connect().await?;
    let entries = submit_document(&store, doc, chunk_size).await?;
    let mut notes = String::new();
    if !parsed.rejected.is_empty() {
        let n = parsed.rejected.len();
        notes.push_str(&format!("; {n} invalid contact(s) will be dead-lettered"));
    }
    if !parsed.warnings.is_empty() {
        let n = parsed.warnings.len();
        notes.push_str(&format!("; {n} unknown field(s) ignored"));
    }
    eprintln!(
        "submitted {} contact(s) in {} intake entr{}{notes}",
        parsed.contacts.len(),
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" },
    );
    println!("{}", parsed.header.id);
    Ok(ExitCode::SUCCESS)
}

/// How `campaign status` shows a campaign.
pub(super) struct StatusView {
    pub json: bool,
    pub all_officials: bool,
    pub limits: Option<crate::dialer::EtaLimits>,
}

async fn status(id: &str, redis: &RedisArgs, view: &StatusView) -> anyhow::Result<ExitCode> {
    let id = CampaignId::parse(id)?;
    let store = redis.connect().await?;
    match status_text(&store, &id, view).await? {
        Some(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("no campaign {id} (it may still be waiting on the intake stream)");
            Ok(ExitCode::from(3))
        }
    }
}

/// The status of campaign `id` as text (or one JSON line); `None`: no such
/// campaign.
pub(super) async fn status_text(
    store: &RedisStore,
    id: &CampaignId,
    view: &StatusView,
) -> anyhow::Result<Option<String>> {
    use std::fmt::Write;
    let Some(status) = store.campaign_status(id).await? else {
        return Ok(None);
    };
    let waiting = store.waiting(id).await?;
    let now = store.now_ms().await?;
    let report = crate::dialer::waiting_report(&status, &waiting, view.limits.as_ref(), now);
    if view.json {
        let mut detail = status.detail();
        detail["waiting"] = report;
        return Ok(Some(format!("{detail}\n")));
    }
    let mut out = String::new();
    writeln!(out, "campaign {id} — {}", status.header.name)?;
    writeln!(out, "{:>12}  {}", "state", status.state.as_str())?;
    writeln!(out, "{:>12}  {}", "contacts", status.total())?;
    writeln!(out, "{:>12}  {}", "finished", status.finished())?;
    for (state, n) in status.counts.iter().filter(|(_, n)| **n > 0) {
        writeln!(out, "{state:>12}  {n}")?;
    }
    out.push_str(&super::waiting::render(&report, now, view.limits.is_some()));
    if let Some(table) = officials_table(&status, view.all_officials) {
        out.push('\n');
        out.push_str(&table);
    }
    Ok(Some(out))
}

/// A Redis URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://:secret@host:6379/0"),
            "redis://:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://u:secret@host/"), "redis://u:***@host/");
        assert_eq!(redact_url("redis://host/"), "redis://host/");
    }
}
