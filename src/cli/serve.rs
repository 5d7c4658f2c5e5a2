//! `sampark serve`: settings → parts → daemon; run until SIGTERM/SIGINT.
//! Refuses to start without `policy.citizen_key_secret`, on a Redis that
//! would lose its data under `redis.persistence = "require"`, and on one
//! whose citizen keys are not settled (another secret, or opt-out markers of
//! an earlier version not upgraded; see `daemon/citizen_keys.rs`).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::{error, warn};

use crate::config::{Settings, load_from_process_env};
use crate::daemon::{
    Daemon, DaemonParts, Listeners, missing_secret_message, refuse_unless_durable,
    refuse_unless_keys_settled,
};
use crate::dialplan::load_dir;
use crate::store::keys::CitizenKey;
use crate::store::redis::{RedisStore, Timeouts};
use crate::telemetry::{events, init};
use crate::webhook::load_tls_config;

pub async fn command(config_path: &Path, accept_legacy_optouts: bool) -> anyhow::Result<ExitCode> {
    let settings = match load_from_process_env(config_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    init(settings.log.format, &settings.log.level)?;
    events::starting(&settings);
    for warning in settings.warnings() {
        tracing::warn!(setting.warning = %warning, "settings work against each other");
    }
    let dialplans = match load_dir(&settings.dialplans.dir) {
        Ok(plans) => Arc::new(plans),
        Err(problems) => {
            for p in &problems {
                error!(problem = %p, "dialplan problem");
                eprintln!("{p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let citizen_key = match settings.policy.citizen_key_secret.as_ref() {
        // Validated with the settings; an error here would be a bug there.
        Some(secret) => CitizenKey::new(secret.expose()).map_err(anyhow::Error::msg)?,
        None => {
            let message = missing_secret_message();
            error!(problem = %message, "Refusing to start: no citizen-key secret.");
            eprintln!("error: refusing to start: {message}");
            return Ok(ExitCode::from(2));
        }
    };
    let Some(store) = connect_store(&settings).await else {
        return Ok(ExitCode::from(1));
    };
    let store = store.with_citizen_key(citizen_key);
    if let Err(problems) = refuse_unless_durable(&store, settings.redis.persistence).await {
        refuse(&settings, &problems);
        return Ok(ExitCode::from(1));
    }
    if let Err(problem) = refuse_unless_keys_settled(&store, accept_legacy_optouts).await? {
        error!(problem = %problem, "Refusing to start: citizen keys are not settled.");
        eprintln!("error: refusing to start: {problem}");
        return Ok(ExitCode::from(1));
    }
    let webhook_listener = TcpListener::bind(&settings.webhook.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on webhook.listen = {}",
                settings.webhook.listen
            )
        })?;
    let admin_listener = TcpListener::bind(&settings.admin.listen)
        .await
        .with_context(|| format!("cannot listen on admin.listen = {}", settings.admin.listen))?;
    let tls = match settings.webhook.tls.paths() {
        Some((cert, key)) => Some(load_tls_config(cert, key)?),
        None => None,
    };
    let parts = DaemonParts::from_settings(
        &settings,
        Arc::new(store),
        dialplans,
        Listeners {
            webhook: webhook_listener,
            admin: Some(admin_listener),
        },
        tls,
    )?;
    let daemon = Daemon::start(parts)?;
    daemon.run_until_signal().await;
    Ok(ExitCode::SUCCESS)
}

/// Says why `serve` will not run against this Redis, in the log and on stderr.
fn refuse(settings: &Settings, problems: &[String]) {
    let url = settings.redis.url.redacted();
    error!(redis.url = %url, problems = %problems.join("; "), "Refusing to start: Redis would lose sampark's data (redis.persistence = require).");
    eprintln!("error: refusing to start: Redis at {url} would lose sampark's data:");
    for p in problems {
        eprintln!("  - {p}");
    }
    eprintln!(
        "Change these Redis settings, or set redis.persistence = \"warn\" (SAMPARK__REDIS__PERSISTENCE=warn) to run anyway."
    );
}

/// Connects to Redis, retrying while it is down until SIGINT/SIGTERM.
async fn connect_store(settings: &Settings) -> Option<RedisStore> {
    let url = settings.redis.url.expose();
    let mut delay = Duration::from_millis(250);
    loop {
        let timeouts = Timeouts {
            connect: settings.redis.connect_timeout(),
            response: settings.redis.response_timeout(),
        };
        let (prefix, shards) = (&settings.redis.key_prefix, settings.redis.shards);
        match RedisStore::connect_with(url, prefix, shards, timeouts).await {
            Ok(store) => return Some(store),
            Err(e) => {
                warn!(redis.url = %settings.redis.url.redacted(), error = %e, retry_in = ?delay, "cannot reach Redis; retrying");
                tokio::select! {
                    _ = crate::daemon::wait_for_signal() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}
