//! `sampark serve`: settings → parts → daemon; run until SIGTERM/SIGINT.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::{error, warn};

use crate::config::{Settings, load_from_process_env};
use crate::daemon::{Daemon, DaemonParts};
use crate::dialer::{DialerConfig, Quotas};
use crate::dialplan::load_dir;
use crate::domain::OfficialId;
use crate::provider::twilio::{DEFAULT_STATUS_EVENTS, TwilioClient, TwilioConfig};
use crate::store::redis::RedisStore;
use crate::telemetry::{Metrics, init};
use crate::webhook::{HttpServerConfig, load_tls_config};

pub async fn command(config_path: &Path) -> anyhow::Result<ExitCode> {
    let settings = match load_from_process_env(config_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    init(settings.log.format, &settings.log.level)?;
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
    let provider = TwilioClient::new(TwilioConfig {
        base_url: settings.provider.base_url.clone(),
        account_sid: settings.provider.account_sid.clone(),
        auth_token: settings.provider.auth_token.expose().to_owned(),
        request_timeout: settings.provider.request_timeout(),
        status_events: DEFAULT_STATUS_EVENTS.map(String::from).to_vec(),
    })?;
    let Some(store) = connect_store(&settings).await else {
        return Ok(ExitCode::from(1));
    };
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
    let daemon = Daemon::start(DaemonParts {
        store: Arc::new(store),
        provider: Arc::new(provider),
        dialplans,
        metrics: Arc::new(Metrics::new()),
        dialer: dialer_config(&settings),
        webhook_listener,
        webhook: HttpServerConfig {
            body_limit: settings.webhook.body_limit_bytes,
            request_timeout: settings.webhook.request_timeout(),
            max_connections: settings.webhook.max_connections,
            drain_timeout: Duration::from_secs(10),
            tls,
        },
        admin_listener: Some(admin_listener),
        admin: HttpServerConfig {
            body_limit: 64 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            max_connections: 64,
            drain_timeout: Duration::from_secs(5),
            tls: None,
        },
        admin_token: settings.admin.token.as_ref().map(|t| t.expose().to_owned()),
        public_url: settings.webhook.public_url.clone(),
        auth_token: settings.provider.auth_token.expose().to_owned(),
        shutdown_grace: settings.shutdown.grace(),
    })?;
    daemon.run_until_signal().await;
    Ok(ExitCode::SUCCESS)
}

/// Connects to Redis, retrying while it is down until SIGINT/SIGTERM.
async fn connect_store(settings: &Settings) -> Option<RedisStore> {
    let url = settings.redis.url.expose();
    let mut delay = Duration::from_millis(250);
    loop {
        match RedisStore::connect(url, &settings.redis.key_prefix, settings.redis.shards).await {
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

/// The dialer's view of the settings.
pub fn dialer_config(s: &Settings) -> DialerConfig {
    let overrides = s
        .rate
        .overrides
        .iter()
        .filter_map(|(id, limit)| OfficialId::parse(id).ok().map(|id| (id, limit.quota())))
        .collect();
    DialerConfig {
        consumer: s.dialer.consumer_name(),
        batch_size: s.dialer.batch_size,
        poll_interval: s.dialer.poll_interval(),
        originate_lease: s.dialer.originate_lease(),
        max_call: s.dialer.max_call(),
        reclaim_after: s.dialer.reclaim_after(),
        ring_timeout: s.provider.ring_timeout(),
        hours: s.policy.calling_hours.to_policy(),
        citizen_daily_cap: s.policy.max_calls_per_citizen_per_day,
        retry: s.dialer.retry_policy(),
        quotas: Quotas {
            default: s.rate.default.quota(),
            overrides,
        },
        max_concurrent_originates: usize::try_from(s.provider.max_concurrent_calls)
            .unwrap_or(64)
            .max(1),
        provider_cps: Some(s.provider.calls_per_second).filter(|&n| n > 0),
        provider_backoff: Duration::from_secs(5),
        reconcile_give_up: Duration::from_secs(24 * 3600),
    }
}
