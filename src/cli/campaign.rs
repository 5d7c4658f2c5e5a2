//! `sampark campaign submit|status|list|pause|resume|cancel`

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::control::{control, list};
use super::intake_status;
use super::officials::officials_table;
use crate::config::{RedisSettings, Settings, load_from_process_env};
use crate::dialer::EtaLimits;
use crate::domain::CampaignId;
use crate::store::redis::{RedisStore, Target, Timeouts};
use crate::store::{CampaignAction, Store};
use crate::tls::ClientTls;

/// Where the store is: the daemon's settings file (`--config`: any
/// `redis.mode`), or flags, else the same environment variables `serve`
/// reads, for one server.
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// The daemon's settings file: Redis reached as `serve` reaches it, in
    /// any `redis.mode` (standalone, sentinel, cluster), with its key
    /// prefix, shards, timeouts and TLS (and for `campaign status`, the
    /// estimate of when the campaign ends). The flags below, if given, must
    /// then agree with it.
    #[arg(long = "config", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Redis URL, one server [default: redis://127.0.0.1:6379/].
    #[arg(long = "redis", env = "SAMPARK__REDIS__URL")]
    pub url: Option<String>,
    /// Key prefix [default: sampark].
    #[arg(long, env = "SAMPARK__REDIS__KEY_PREFIX")]
    pub prefix: Option<String>,
    /// Shard count (must match the daemon's `redis.shards`) [default: 16].
    #[arg(long, env = "SAMPARK__REDIS__SHARDS")]
    pub shards: Option<u16>,
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
    /// The settings file `--config` names, loaded as `serve` loads it
    /// (with the same `SAMPARK__*` variables, so a flag's variable agrees
    /// by construction); a flag that says otherwise is an error rather than
    /// ignored.
    pub(super) fn settings(&self) -> anyhow::Result<Option<Settings>> {
        let Some(path) = self.config.as_deref() else {
            return Ok(None);
        };
        let settings = load_from_process_env(path)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("settings {}", path.display()))?;
        let redis = &settings.redis;
        let same_path = |flag: &Option<PathBuf>, set: &Option<PathBuf>| {
            flag.as_ref()
                .is_none_or(|f| std::path::absolute(f).ok().as_ref() == set.as_ref())
        };
        let differ: Vec<&str> = [
            (
                "--redis",
                self.url.as_ref().is_none_or(|u| u == redis.url.expose()),
            ),
            (
                "--prefix",
                self.prefix.as_ref().is_none_or(|p| *p == redis.key_prefix),
            ),
            ("--shards", self.shards.is_none_or(|n| n == redis.shards)),
            ("--redis-ca", same_path(&self.redis_ca, &redis.tls.ca_path)),
            (
                "--redis-client-cert",
                same_path(&self.redis_client_cert, &redis.tls.client_cert_path),
            ),
            (
                "--redis-client-key",
                same_path(&self.redis_client_key, &redis.tls.client_key_path),
            ),
        ]
        .into_iter()
        .filter_map(|(flag, agrees)| (!agrees).then_some(flag))
        .collect();
        anyhow::ensure!(
            differ.is_empty(),
            "{} (or its SAMPARK__REDIS__* variable) says otherwise than --config {}; give one \
             or the other",
            differ.join(", "),
            path.display()
        );
        Ok(Some(settings))
    }

    pub(super) async fn connect(&self) -> anyhow::Result<RedisStore> {
        self.connect_with(self.settings()?.as_ref()).await
    }

    /// The store as `settings` (what [`RedisArgs::settings`] read) say, or
    /// else as the flags say: for a command that needs the settings file
    /// for more than Redis and reads it once.
    pub(super) async fn connect_with(
        &self,
        settings: Option<&Settings>,
    ) -> anyhow::Result<RedisStore> {
        match settings {
            Some(settings) => super::configured::connect(settings).await,
            None => self.connect_flags().await,
        }
    }

    /// One server, as the flags (or their variables) say.
    async fn connect_flags(&self) -> anyhow::Result<RedisStore> {
        let tls = ClientTls::from_files(
            self.redis_ca.as_deref(),
            self.redis_client_cert.as_deref(),
            self.redis_client_key.as_deref(),
        )
        .context("Redis TLS files")?;
        // Unset flags take the settings' own defaults (`RedisSettings`).
        let defaults = RedisSettings::default();
        let url = self.url.as_deref().unwrap_or(defaults.url.expose());
        RedisStore::connect_over(
            &Target::standalone(url),
            &tls,
            self.prefix.as_deref().unwrap_or(&defaults.key_prefix),
            self.shards.unwrap_or(defaults.shards),
            Timeouts::default(),
        )
        .await
        .with_context(|| format!("cannot reach Redis at {}", redact_url(url)))
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
        } => {
            let id = CampaignId::parse(&id)?;
            // The daemon's settings (`--config`), read once, say where
            // Redis is and give the estimate of when the campaign ends:
            // quotas, provider rate, calling window.
            let settings = redis.settings()?;
            let limits = settings
                .as_ref()
                .map(|s| EtaLimits::of(&crate::daemon::dialer_config(s)));
            let store = redis.connect_with(settings.as_ref()).await?;
            let view = StatusView {
                json,
                all_officials: officials,
                limits,
            };
            match watch {
                Some(secs) => super::waiting::watch(&id, &store, &view, secs).await,
                None => status(&id, &store, &view).await,
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

async fn status(
    id: &CampaignId,
    store: &RedisStore,
    view: &StatusView,
) -> anyhow::Result<ExitCode> {
    match status_text(store, id, view).await? {
        Some(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("no campaign {id} (it may still be waiting on the intake stream)");
            // Every document for it may have been refused: say why.
            let intake = store.intake_stats(id).await?;
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
