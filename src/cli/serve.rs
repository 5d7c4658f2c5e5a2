//! `sampark serve`: settings → checks → listeners → Redis → daemon; run
//! until SIGTERM/SIGINT.
//!
//! Order, so that an operator sees every problem early and a probe sees a
//! live process:
//! 1. settings (every problem listed; exit 2);
//! 2. what needs no Redis: dialplans, TLS files (both listeners' and
//!    Redis's), the provider and inbound settings, the citizen-key secret —
//!    every problem listed together; exit 2;
//! 3. both listeners bound; the admin listener serves `/healthz`,
//!    `/readyz` (503 with the reason) and `/metrics` from here on; the
//!    listeners' certificates reload on SIGHUP or a file change;
//! 4. Redis, retried with backoff until it answers (SIGTERM/SIGINT meanwhile:
//!    exit 0);
//! 5. refusals that need Redis: one that would lose its data under
//!    `redis.persistence = "require"`, citizen keys not settled (another
//!    secret, or opt-out markers of an earlier version; see
//!    `daemon/citizen_keys.rs`); exit 1;
//! 6. the daemon.

use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use crate::calls::InboundPolicy;
use crate::config::{Settings, load_from_process_env};
use crate::daemon::{
    DaemonParts, Listeners, ServerTls, Startup, admin_http_config, metrics_registry,
    missing_secret_message, refuse_unless_durable, refuse_unless_keys_settled, stop_signal,
};
use crate::dialplan::{Dialplans, load_dir};
use crate::provider::build_provider;
use crate::store::keys::CitizenKey;
use crate::store::redis::{RedisStore, ReplicaWait, Timeouts};
use crate::telemetry::{events, init_in_zone};
use crate::tls::{ClientTls, ServerCert};
use crate::webhook::AdminAccess;

/// First and longest wait between attempts to reach Redis.
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// What `serve` reads before it needs Redis.
struct Prepared {
    dialplans: Arc<Dialplans>,
    tls: ServerTls,
    /// The listeners' certificates, for reloading.
    certs: Vec<Arc<ServerCert>>,
    redis_tls: ClientTls,
    citizen_key: CitizenKey,
    admin_access: Arc<AdminAccess>,
}

/// The daemon, its settings loaded (`cli::run` sizes the runtime from
/// them).
pub async fn command(settings: Settings, accept_legacy_optouts: bool) -> anyhow::Result<ExitCode> {
    // From here on SIGTERM/SIGINT stop serve in order, whatever it is doing.
    let stop = stop_signal();
    init_in_zone(
        settings.log.format,
        &settings.log.level,
        settings.policy.calling_window.zone_name(),
    )?;
    events::starting(&settings);
    for warning in settings.warnings() {
        tracing::warn!(setting.warning = %warning, "settings work against each other");
    }
    let prepared = match prepare(&settings) {
        Ok(prepared) => prepared,
        Err(problems) => {
            for p in &problems {
                error!(problem = %p, "Cannot start.");
            }
            print_problems(&problems);
            return Ok(ExitCode::from(2));
        }
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
    // Flag labels are bounded by the flags the dialplans escalate.
    let rules = prepared.dialplans.scoring_rules();
    let metrics = metrics_registry(&settings, rules.severities().map(|(f, _)| f.to_owned()));
    let startup = Startup::serve_admin(
        admin_listener,
        admin_http_config(&settings, prepared.tls.admin.clone()),
        metrics,
        prepared.admin_access.clone(),
    )?;
    startup.reload_certificates(prepared.certs.clone());
    let outcome = run(
        &settings,
        prepared,
        webhook_listener,
        startup,
        accept_legacy_optouts,
        stop,
    );
    match outcome.await? {
        Some(code) => Ok(code),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// `serve --check`: steps 1 and 2 only, on stdout and stderr (no log, no
/// listener, no Redis), for a deploy pipeline to run before a rollout.
pub fn check(config_path: &Path) -> anyhow::Result<ExitCode> {
    let settings = match load_from_process_env(config_path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    for warning in settings.warnings() {
        eprintln!("warning: {warning}");
    }
    match prepare(&settings) {
        Ok(prepared) => {
            println!(
                "{}: sampark would start ({} dialplan{}, Redis {} not contacted)",
                config_path.display(),
                prepared.dialplans.len(),
                if prepared.dialplans.len() == 1 {
                    ""
                } else {
                    "s"
                },
                settings.redis.shown(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            print_problems(&problems);
            Ok(ExitCode::from(2))
        }
    }
}

fn print_problems(problems: &[String]) {
    eprintln!(
        "sampark cannot start: {} problem{}:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        eprintln!("  - {p}");
    }
}

/// Steps 4 to 6; `Some(code)` when the daemon did not run.
async fn run(
    settings: &Settings,
    prepared: Prepared,
    webhook_listener: TcpListener,
    startup: Startup,
    accept_legacy_optouts: bool,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<Option<ExitCode>> {
    let mut stop = std::pin::pin!(stop);
    let Some(store) = connect_store(settings, &prepared.redis_tls, &startup, stop.as_mut()).await
    else {
        // Asked to stop while waiting: nothing ran, nothing is lost.
        startup.stop().await;
        return Ok(Some(ExitCode::SUCCESS));
    };
    let store = store
        .with_citizen_key(prepared.citizen_key)
        .with_retention(settings.policy.retention())
        .with_intake_limits(settings.intake.limits());
    startup.waiting_for("checking Redis's persistence settings and citizen keys");
    if let Err(problems) = refuse_unless_durable(&store, settings.redis.persistence).await {
        refuse(settings, &problems);
        startup.stop().await;
        return Ok(Some(ExitCode::from(1)));
    }
    if let Err(problem) = refuse_unless_keys_settled(&store, accept_legacy_optouts).await? {
        error!(problem = %problem, "Refusing to start: citizen keys are not settled.");
        eprintln!("error: refusing to start: {problem}");
        startup.stop().await;
        return Ok(Some(ExitCode::from(1)));
    }
    let parts = DaemonParts::from_settings(
        settings,
        Arc::new(store),
        prepared.dialplans,
        Listeners {
            webhook: webhook_listener,
            admin: None,
        },
        prepared.tls,
    )?;
    let daemon = startup.start(parts)?;
    daemon.run_until(stop).await;
    Ok(None)
}

/// Everything that can be checked without Redis; `Err` lists every problem.
fn prepare(settings: &Settings) -> Result<Prepared, Vec<String>> {
    let mut problems = Vec::new();
    let dialplans = match load_dir(&settings.dialplans.dir) {
        Ok(plans) => Some(Arc::new(plans)),
        Err(found) => {
            problems.extend(found.iter().map(|p| format!("dialplans.dir: {p}")));
            None
        }
    };
    let mut certs = Vec::new();
    let mut tls = ServerTls::default();
    for (name, paths, slot) in [
        ("webhook", &settings.webhook.tls, &mut tls.webhook),
        ("admin", &settings.admin.tls, &mut tls.admin),
    ] {
        let Some((cert, key)) = paths.paths() else {
            continue;
        };
        let loaded = ServerCert::load(name, cert, key).map(Arc::new);
        match loaded.and_then(|c| Ok((c.server_config()?, c))) {
            Ok((config, cert)) => {
                *slot = Some(config);
                certs.push(cert);
            }
            Err(e) => problems.push(format!("{name}.tls: {e}")),
        }
    }
    let redis_tls = settings
        .redis
        .tls
        .load()
        .map_err(|e| problems.push(format!("redis.tls: {e}")))
        .unwrap_or_default();
    if let Err(e) = build_provider(&settings.provider, &settings.webhook.public_url) {
        problems.push(e.to_string());
    }
    if let Some(plans) = &dialplans
        && let Err(e) =
            InboundPolicy::from_settings(&settings.inbound, plans, settings.dialer.max_call())
    {
        problems.push(e);
    }
    let citizen_key = match settings.policy.citizen_key_secret.as_ref() {
        // Validated with the settings; an error here would be a bug there.
        Some(secret) => CitizenKey::new(secret.expose())
            .map_err(|e| problems.push(format!("policy.citizen_key_secret: {e}")))
            .ok(),
        None => {
            problems.push(missing_secret_message());
            None
        }
    };
    let admin_access = AdminAccess::from_settings(&settings.admin)
        .map_err(|e| problems.push(e))
        .ok();
    match (dialplans, citizen_key, admin_access) {
        (Some(dialplans), Some(citizen_key), Some(admin_access)) if problems.is_empty() => {
            Ok(Prepared {
                dialplans,
                tls,
                certs,
                redis_tls,
                citizen_key,
                admin_access: Arc::new(admin_access),
            })
        }
        _ => Err(problems),
    }
}

/// Says why `serve` will not run against this Redis, in the log and on stderr.
fn refuse(settings: &Settings, problems: &[String]) {
    let url = settings.redis.shown();
    error!(redis.url = %url, problems = %problems.join("; "), "Refusing to start: Redis would lose sampark's data (redis.persistence = require).");
    eprintln!("error: refusing to start: Redis at {url} would lose sampark's data:");
    for p in problems {
        eprintln!("  - {p}");
    }
    eprintln!(
        "Change these Redis settings, or set redis.persistence = \"warn\" (SAMPARK__REDIS__PERSISTENCE=warn) to run anyway."
    );
}

/// `redis.wait_replicas` and `redis.wait_timeout_ms` (none when 0).
pub(crate) fn replica_wait(settings: &Settings) -> Option<ReplicaWait> {
    (settings.redis.wait_replicas > 0).then(|| ReplicaWait {
        replicas: settings.redis.wait_replicas,
        timeout: settings.redis.wait_timeout(),
    })
}

/// Connects to Redis, retrying with backoff while it is down, until
/// SIGINT/SIGTERM (`None`). Each failed attempt is logged once and shown
/// on `/readyz`; neither ever shows the password.
async fn connect_store(
    settings: &Settings,
    tls: &ClientTls,
    startup: &Startup,
    mut stop: Pin<&mut impl Future<Output = ()>>,
) -> Option<RedisStore> {
    let url = settings.redis.url.expose();
    let shown = settings.redis.shown();
    let target = settings.redis.target();
    let timeouts = Timeouts {
        connect: settings.redis.connect_timeout(),
        response: settings.redis.response_timeout(),
    };
    let (prefix, shards) = (&settings.redis.key_prefix, settings.redis.shards);
    let mut delay = FIRST_RETRY;
    startup.waiting_for(format!("connecting to Redis at {shown}"));
    for attempt in 1u64.. {
        let connected = tokio::select! {
            _ = stop.as_mut() => return None,
            connected = RedisStore::connect_over(&target, tls, prefix, shards, timeouts) => connected,
        };
        let error = match connected {
            Ok(store) => {
                if attempt > 1 {
                    info!(redis.url = %shown, attempts = attempt, "Redis answers; starting.");
                }
                return Some(store.with_replica_wait(replica_wait(settings)));
            }
            Err(e) => without_password(&e.to_string(), url),
        };
        let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        warn!(
            redis.url = %shown,
            error = %error,
            attempt,
            retry_in_ms,
            "Cannot reach Redis; retrying (the admin listener answers /healthz meanwhile)."
        );
        startup.waiting_for(format!(
            "cannot reach Redis at {shown}: {error} (attempt {attempt}; retrying)"
        ));
        tokio::select! {
            _ = stop.as_mut() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(LONGEST_RETRY);
    }
    None
}

/// `message` with the Redis URL's password (if any) masked, whatever the
/// client library put in its error text.
pub(super) fn without_password(message: &str, url: &str) -> String {
    let password = redis::parse_redis_url(url)
        .and_then(|u| u.password().map(str::to_owned))
        .filter(|p| !p.is_empty());
    match password {
        Some(password) => message.replace(&password, "***"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_an_error_is_masked() {
        let url = "redis://app:pa55-w0rd@db:6379/0";
        assert_eq!(
            without_password("auth with pa55-w0rd failed", url),
            "auth with *** failed"
        );
        assert_eq!(without_password("refused", "redis://db:6379/"), "refused");
    }
}
