//! `sampark campaign submit|status|list|pause|resume|cancel`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::control::{control, list};
use super::intake_status;
use super::officials::officials_table;
use crate::domain::CampaignId;
use crate::store::redis::{RedisStore, Target, Timeouts};
use crate::store::{CampaignAction, Store};
use crate::tls::ClientTls;

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
    /// For a rediss:// URL: PEM bundle of the CA that signs the server's
    /// certificate (default: the built-in Mozilla roots).
    #[arg(long, value_name = "PATH", env = "SAMPARK__REDIS__TLS__CA_PATH")]
    pub redis_ca: Option<PathBuf>,
    /// For a rediss:// URL: PEM client certificate, for a server that
    /// requires one (with --redis-client-key).
    #[arg(
        long,
        value_name = "PATH",
        env = "SAMPARK__REDIS__TLS__CLIENT_CERT_PATH",
        requires = "redis_client_key"
    )]
    pub redis_client_cert: Option<PathBuf>,
    /// The key of --redis-client-cert (PEM).
    #[arg(
        long,
        value_name = "PATH",
        env = "SAMPARK__REDIS__TLS__CLIENT_KEY_PATH",
        requires = "redis_client_cert"
    )]
    pub redis_client_key: Option<PathBuf>,
}

impl RedisArgs {
    pub(super) async fn connect(&self) -> anyhow::Result<RedisStore> {
        let tls = ClientTls::from_files(
            self.redis_ca.as_deref(),
            self.redis_client_cert.as_deref(),
            self.redis_client_key.as_deref(),
        )
        .context("Redis TLS files")?;
        RedisStore::connect_over(
            &Target::standalone(&self.url),
            &tls,
            &self.prefix,
            self.shards,
            Timeouts::default(),
        )
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
    /// submitted in `calling_window.holidays`. Exit codes: 2 invalid
    /// document, 3 unknown dialplan, 4 no valid contact, 5 the campaign
    /// exists with another header.
    Submit(super::submit::SubmitArgs),
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
        CampaignCommand::Submit(args) => super::submit::command(args).await,
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
            // Every document for it may have been refused: say why.
            let intake = store.intake_stats(&id).await?;
            if intake.is_some() {
                intake_status::lines(intake.as_ref())
                    .iter()
                    .for_each(|l| eprintln!("{l}"));
            }
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
    let intake = store.intake_stats(id).await?;
    let now = store.now_ms().await?;
    let report = crate::dialer::waiting_report(&status, &waiting, view.limits.as_ref(), now);
    if view.json {
        let mut detail = status.detail();
        detail["waiting"] = report;
        detail["intake"] = intake_status::json(intake.as_ref());
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
    for line in intake_status::lines(intake.as_ref()) {
        writeln!(out, "{line}")?;
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
