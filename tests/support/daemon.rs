//! Starting the real daemon (in-process, servers on port 0) against a real
//! redis-server and the provider simulator, as the e2e tests need it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sampark::calls::RetryPolicy;
use sampark::config::{Secret, Settings};
use sampark::daemon::{Daemon, DaemonParts, Listeners, ServerTls};
use sampark::dialer::{DialerConfig, Quotas};
use sampark::dialplan::{Dialplans, load_dir};
use sampark::policy::CallingWindow;
use sampark::simulator::{Simulator, SimulatorConfig};
use sampark::store::keys::CitizenKey;
use sampark::store::redis::RedisStore;
use sampark::store::{CitizenCaps, Quota};
use sampark::webhook::HttpServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::provider::Provider;

pub const ACCOUNT_SID: &str = "ACe2e0000000000000000000000000e2e0";
pub const AUTH_TOKEN: &str = "e2e-auth-token";
/// `policy.citizen_key_secret` of every test daemon (in-process or `serve`
/// as a process: `SAMPARK__POLICY__CITIZEN_KEY_SECRET`).
pub const CITIZEN_KEY_SECRET: &str = "sampark-tests-citizen-key-secret-0001";

/// The citizen key of [`CITIZEN_KEY_SECRET`].
pub fn citizen_key() -> CitizenKey {
    CitizenKey::new(CITIZEN_KEY_SECRET).expect("the test secret is long enough")
}

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
    settings.policy.citizen_key_secret = Some(Secret::new(CITIZEN_KEY_SECRET));
    settings
}

pub fn http_config() -> HttpServerConfig {
    HttpServerConfig {
        body_limit: 64 * 1024,
        request_timeout: Duration::from_secs(10),
        max_connections: 512,
        max_connections_per_source: 512,
        drain_timeout: Duration::from_secs(5),
        tls: None,
        http: sampark::config::HttpSettings::default(),
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
        hours: CallingWindow::always(),
        citizen_caps: CitizenCaps {
            per_day: 10,
            per_week: 0,
        },
        max_live_calls: None,
        retry: RetryPolicy {
            max_attempts: 3,
            backoff: vec![Duration::from_millis(200), Duration::from_millis(400)],
        },
        quotas: Quotas::uniform(quota),
        max_concurrent_originates: 32,
        provider_cps: None,
        provider_backoff: Duration::from_millis(200),
        reconcile_give_up: Duration::from_secs(60),
        number_plan: Default::default(),
    }
}

pub struct Running {
    pub daemon: Daemon,
    pub simulator: Simulator,
    pub sim_cancel: CancellationToken,
    pub store: Arc<RedisStore>,
}

/// The simulator on this module's Twilio account with every contact
/// answering and keying every question: no busy, unanswered, failed or
/// hung-up call, no invalid or missing key, no opt-out. Set the rest
/// (`seed`, delays …) with `..every_call_answered()`.
pub fn every_call_answered() -> SimulatorConfig {
    SimulatorConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: AUTH_TOKEN.into(),
        answer_rate: 1.0,
        busy_rate: 0.0,
        no_answer_rate: 0.0,
        failed_rate: 0.0,
        invalid_key_rate: 0.0,
        silent_rate: 0.0,
        opt_out_rate: 0.0,
        hangup_rate: 0.0,
        ..SimulatorConfig::default()
    }
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
    start_daemon_for(Provider::Twilio, redis_url, simulator_base, dialer).await
}

/// `start_daemon` with `provider`'s adapter.
pub async fn start_daemon_for(
    provider: Provider,
    redis_url: &str,
    simulator_base: &str,
    dialer: DialerConfig,
) -> (Daemon, Arc<RedisStore>) {
    let (listener, _) = bind_webhook().await;
    let base = simulator_base.to_owned();
    start_daemon_on(listener, redis_url, simulator_base, dialer, move |s| {
        provider.configure(s, &base)
    })
    .await
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
    let store = RedisStore::connect(redis_url, "sampark", 16).await.unwrap();
    start_daemon_with_store(webhook_listener, store, simulator_base, dialer, tweak).await
}

/// `start_daemon_on` over a store already connected (in any `redis.mode`).
pub async fn start_daemon_with_store(
    webhook_listener: TcpListener,
    store: RedisStore,
    simulator_base: &str,
    dialer: DialerConfig,
    tweak: impl FnOnce(&mut Settings),
) -> (Daemon, Arc<RedisStore>) {
    let store = Arc::new(store.with_citizen_key(citizen_key()));
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
        ServerTls::default(),
    )
    .unwrap();
    parts.dialer = dialer;
    let daemon = Daemon::start(parts).unwrap();
    (daemon, store)
}

/// A daemon on a runtime of its own, so a test can kill it as `kill -9`
/// would: every task stops where it stands (no drain, no flush), its
/// sockets close, and nothing it held in memory survives.
pub struct Killable {
    webhook: std::net::SocketAddr,
    kill: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    /// `start_daemon_on`, on its own runtime.
    pub fn start(
        redis_url: &str,
        simulator_base: &str,
        dialer: DialerConfig,
        tweak: impl FnOnce(&mut Settings) + Send + 'static,
    ) -> Killable {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
        let (redis_url, simulator_base) = (redis_url.to_owned(), simulator_base.to_owned());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let daemon = runtime.block_on(async {
                let (listener, _) = bind_webhook().await;
                let (daemon, _) =
                    start_daemon_on(listener, &redis_url, &simulator_base, dialer, tweak).await;
                daemon
            });
            ready_tx.send(daemon.webhook_addr()).unwrap();
            let _ = kill_rx.recv();
            // Killed: nothing runs to completion.
            std::mem::forget(daemon);
            runtime.shutdown_background();
        });
        Killable {
            webhook: ready_rx.recv().expect("the daemon started"),
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    pub fn webhook_addr(&self) -> std::net::SocketAddr {
        self.webhook
    }

    /// Stops every task of the instance at once.
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        self.kill();
    }
}
