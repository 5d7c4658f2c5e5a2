//! `--config` for the commands that work from the daemon's settings
//! (`escalations`, `report`, `officials`): the settings file loaded as
//! `serve` loads it (the same `SAMPARK__*` overrides), and Redis reached as
//! the daemon reaches it (URL, key prefix, shards, timeouts, TLS).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::config::{Settings, load_from_process_env};
use crate::store::redis::{RedisStore, Timeouts};

/// The daemon's settings file.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The daemon's settings file (overridden by SAMPARK__SECTION__KEY
    /// variables, as for `serve`): where Redis is, the programme's time zone
    /// (`policy.calling_window.zone`) and the dialplans.
    #[arg(long, value_name = "PATH", default_value = "config/sampark.toml")]
    pub config: PathBuf,
}

impl ConfigArgs {
    /// The settings; `Err(2)` (every problem printed) when they do not load.
    pub fn settings(&self) -> Result<Settings, ExitCode> {
        load_from_process_env(&self.config).map_err(|e| {
            eprintln!("{e}");
            ExitCode::from(2)
        })
    }
}

/// The store the settings name (no citizen key: these commands never touch
/// citizens' keys).
pub async fn connect(settings: &Settings) -> anyhow::Result<RedisStore> {
    let timeouts = Timeouts {
        connect: settings.redis.connect_timeout(),
        response: settings.redis.response_timeout(),
    };
    let url = settings.redis.url.expose();
    let tls = settings.redis.tls.load().context("redis.tls")?;
    RedisStore::connect_over(
        &settings.redis.target(),
        &tls,
        &settings.redis.key_prefix,
        settings.redis.shards,
        timeouts,
    )
    .await
    .map(|store| store.with_replica_wait(super::serve::replica_wait(settings)))
    // The client library's text may hold the password: masked, as `serve` does.
    .map_err(|e| anyhow::anyhow!(super::serve::without_password(&e.to_string(), url)))
    .with_context(|| format!("cannot reach Redis at {}", settings.redis.shown()))
}
