//! `sampark campaign submit|status|list|pause|resume|cancel`

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::control::{control, list};
use super::intake_status;
use crate::domain::CampaignId;
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
    /// Print a campaign's state and contacts by state.
    Status {
        id: String,
        #[command(flatten)]
        redis: RedisArgs,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub async fn command(cmd: CampaignCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CampaignCommand::Submit(args) => super::submit::command(args).await,
        CampaignCommand::Status { id, redis, json } => status(&id, &redis, json).await,
        CampaignCommand::Pause { id, redis } => control(&id, CampaignAction::Pause, &redis).await,
        CampaignCommand::Resume { id, redis } => control(&id, CampaignAction::Resume, &redis).await,
        CampaignCommand::Cancel { id, hangup, redis } => {
            control(&id, CampaignAction::Cancel { hangup }, &redis).await
        }
        CampaignCommand::List { redis, json } => list(&redis, json).await,
    }
}

async fn status(id: &str, redis: &RedisArgs, json: bool) -> anyhow::Result<ExitCode> {
    let id = CampaignId::parse(id)?;
    let store = redis.connect().await?;
    let intake = store.intake_stats(&id).await?;
    let Some(status) = store.campaign_status(&id).await? else {
        eprintln!("no campaign {id} (it may still be waiting on the intake stream)");
        if intake.is_some() {
            // Every document for it was refused: say why.
            intake_status::lines(intake.as_ref())
                .iter()
                .for_each(|l| eprintln!("{l}"));
        }
        return Ok(ExitCode::from(3));
    };
    let next_due = store.next_due(&id).await?;
    if json {
        let mut summary = status.summary();
        summary["next_due_ms"] = serde_json::json!(next_due);
        summary["intake"] = intake_status::json(intake.as_ref());
        println!("{summary}");
    } else {
        println!("campaign {id} — {}", status.header.name);
        println!("{:>12}  {}", "state", status.state.as_str());
        println!("{:>12}  {}", "contacts", status.total());
        println!("{:>12}  {}", "finished", status.finished());
        for (state, n) in status.counts.iter().filter(|(_, n)| **n > 0) {
            println!("{state:>12}  {n}");
        }
        if let Some(due) = next_due {
            let now = store.now_ms().await?;
            let secs = (due - now).max(0) / 1000;
            println!(
                "{:>12}  in {secs} s (a waiting contact: retry, hours, quota or freshness)",
                "next due"
            );
        }
        intake_status::lines(intake.as_ref())
            .iter()
            .for_each(|l| println!("{l}"));
    }
    Ok(ExitCode::SUCCESS)
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
