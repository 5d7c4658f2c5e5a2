//! Starting the real daemon (in-process, servers on port 0) against a real
//! redis-server and the provider simulator, as the e2e tests need it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sampark::calls::RetryPolicy;
use sampark::config::{Secret, Settings};
use sampark::daemon::{Daemon, DaemonParts, Listeners};
use sampark::dialer::{CallingHours, DialerConfig, Quotas};
use sampark::dialplan::{Dialplans, load_dir};
use sampark::simulator::{Simulator, SimulatorConfig};
use sampark::store::Quota;
use sampark::store::redis::RedisStore;
use sampark::webhook::HttpServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const ACCOUNT_SID: &str = "ACe2e0000000000000000000000000e2e0";
pub const AUTH_TOKEN: &str = "e2e-auth-token";

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn dialplans() -> Arc<Dialplans> {
    Arc::new(load_dir(&repo_path("dialplans")).expect("sample dialplans load"))
}

/// `serve`'s settings pointed at the simulator; the daemon's own timings come
/// from `dialer_config` (test speed).
pub fn settings(simulator_base: &str, public_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.provider.base_url = simulator_base.to_owned();
    settings.provider.account_sid = ACCOUNT_SID.into();
    settings.provider.auth_token = Secret::new(AUTH_TOKEN);
    settings.provider.request_timeout_ms = 5_000;
    settings.provider.choice_hints = true;
    settings.webhook.public_url = public_url.to_owned();
    settings.shutdown.grace_secs = 5;
    settings
}

pub fn http_config() -> HttpServerConfig {
    HttpServerConfig {
        body_limit: 64 * 1024,
        request_timeout: Duration::from_secs(10),
        max_connections: 512,
        drain_timeout: Duration::from_secs(5),
        tls: None,
    }
}

pub fn dialer_config(quota: Quota) -> DialerConfig {
    DialerConfig {
        consumer: "e2e".into(),
        batch_size: 64,
        poll_interval: Duration::from_millis(20),
        originate_lease: Duration::from_secs(15),
        originate_timeout: Duration::from_secs(5),
        max_call: Duration::from_secs(60),
        reclaim_after: Duration::from_secs(5),
        ring_timeout: Duration::from_secs(20),
        hours: CallingHours::ALWAYS,
        citizen_daily_cap: 10,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_millis(200), Duration::from_millis(400)],
        },
        quotas: Quotas {
            default: quota,
            overrides: Default::default(),
        },
        max_concurrent_originates: 32,
        provider_cps: None,
        provider_backoff: Duration::from_millis(200),
        reconcile_give_up: Duration::from_secs(60),
    }
}

pub struct Running {
    pub daemon: Daemon,
    pub simulator: Simulator,
    pub sim_cancel: CancellationToken,
    pub store: Arc<RedisStore>,
}

pub async fn start_simulator(config: SimulatorConfig) -> (Simulator, CancellationToken) {
    let cancel = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Simulator::start(config, listener, cancel.clone())
        .await
        .unwrap();
    (sim, cancel)
}

pub async fn start_daemon(
    redis_url: &str,
    simulator_base: &str,
    dialer: DialerConfig,
) -> (Daemon, Arc<RedisStore>) {
    let (listener, _) = bind_webhook().await;
    start_daemon_on(listener, redis_url, simulator_base, dialer, |_| {}).await
}

/// A webhook listener on port 0 and the public URL it is reached at, for a
/// test that must tell the simulator where to send inbound calls before the
/// daemon starts.
pub async fn bind_webhook() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    (listener, public_url)
}

/// `start_daemon` on a bound webhook listener, with `tweak` applied to the
/// settings first.
pub async fn start_daemon_on(
    webhook_listener: TcpListener,
    redis_url: &str,
    simulator_base: &str,
    dialer: DialerConfig,
    tweak: impl FnOnce(&mut Settings),
) -> (Daemon, Arc<RedisStore>) {
    let store = Arc::new(RedisStore::connect(redis_url, "sampark", 16).await.unwrap());
    let public_url = format!("http://{}", webhook_listener.local_addr().unwrap());
    let mut settings = settings(simulator_base, &public_url);
    tweak(&mut settings);
    let mut parts = DaemonParts::from_settings(
        &settings,
        store.clone(),
        dialplans(),
        Listeners {
            webhook: webhook_listener,
            admin: Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
        },
        None,
    )
    .unwrap();
    parts.dialer = dialer;
    let daemon = Daemon::start(parts).unwrap();
    (daemon, store)
}
