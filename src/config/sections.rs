//! The settings schema: one struct per TOML section, each with
//! `deny_unknown_fields` and a `Default` that matches `config/sampark.toml`.
//! Durations are kept in the unit their key names (`_ms`, `_secs`) so the
//! file reads plainly; accessors return [`Duration`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::exotel::ExotelSettings;
use super::http::HttpSettings;
use super::policy::PolicySettings;
use super::rate::RateSettings;
use super::secret::{RedisUrl, Secret};
use crate::telemetry::LogFormat;

/// Every setting of the daemon. Built by [`super::load`]; `Debug` is safe to
/// log (secrets are redacted).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub redis: RedisSettings,
    pub provider: ProviderSettings,
    pub webhook: WebhookSettings,
    pub admin: AdminSettings,
    pub dialer: DialerSettings,
    pub policy: PolicySettings,
    pub rate: RateSettings,
    pub dialplans: DialplanSettings,
    pub inbound: InboundSettings,
    pub reports: ReportsSettings,
    pub officials: OfficialsSettings,
    pub intake: IntakeSettings,
    pub shutdown: ShutdownSettings,
    pub runtime: RuntimeSettings,
    pub log: LogSettings,
}

/// `[redis]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// Standalone server, Sentinel-managed primary, or Redis Cluster.
    pub mode: RedisMode,
    /// The server (`standalone`).
    pub url: RedisUrl,
    /// The Sentinels' `host:port` (`sentinel`).
    pub sentinels: Vec<String>,
    /// The name the Sentinels monitor the primary under (`sentinel`).
    pub sentinel_master: String,
    /// ACL user of the Sentinels themselves (empty: `default`).
    pub sentinel_username: String,
    /// Password of the Sentinels themselves, if they ask for one.
    pub sentinel_password: Secret,
    /// ACL user on the primary and its replicas (empty: `default`).
    pub sentinel_master_username: String,
    /// Password of the primary and its replicas, if they ask for one.
    pub sentinel_master_password: Secret,
    /// TLS to the Sentinels and to the primary they name (`[redis.tls]`
    /// says what is trusted and presented).
    pub sentinel_tls: bool,
    /// Seed node URLs of the cluster (`cluster`); the rest is discovered.
    pub cluster_nodes: Vec<RedisUrl>,
    /// Replicas that must confirm a terminal record and a relay (`WAIT`);
    /// 0 = no wait.
    pub wait_replicas: u32,
    /// The longest one `WAIT` may take.
    pub wait_timeout_ms: u64,
    pub key_prefix: String,
    /// Fixed for the life of the data: changing it moves officials between
    /// shards, stranding their queued jobs.
    pub shards: u16,
    pub connect_timeout_ms: u64,
    pub response_timeout_ms: u64,
    /// What to do when Redis is set up to lose data on a restart.
    pub persistence: PersistencePolicy,
    /// What the client trusts and presents over `rediss://`.
    pub tls: RedisTlsSettings,
}

/// `[redis.tls]`: for `rediss://` URLs. Unset, the server's certificate is
/// checked against the Mozilla roots built into sampark and no client
/// certificate is sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisTlsSettings {
    /// PEM bundle of the CA(s) that sign the servers' certificates,
    /// trusted instead of the built-in roots.
    pub ca_path: Option<PathBuf>,
    /// PEM certificate chain presented to a server that asks for one
    /// (`tls-auth-clients`); set with `client_key_path`.
    pub client_cert_path: Option<PathBuf>,
    /// PEM private key of `client_cert_path`.
    pub client_key_path: Option<PathBuf>,
}

impl RedisTlsSettings {
    /// Whether any key is set.
    pub fn is_set(&self) -> bool {
        self.ca_path.is_some() || self.client_cert_path.is_some() || self.client_key_path.is_some()
    }

    /// The files, read and checked.
    pub fn load(&self) -> Result<crate::tls::ClientTls, crate::tls::ClientTlsError> {
        crate::tls::ClientTls::from_files(
            self.ca_path.as_deref(),
            self.client_cert_path.as_deref(),
            self.client_key_path.as_deref(),
        )
    }
}

/// `redis.mode`: how sampark reaches Redis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisMode {
    /// One server at `redis.url` (with or without replicas of its own).
    #[default]
    Standalone,
    /// The primary that the Sentinels in `redis.sentinels` name, found
    /// again after a failover.
    Sentinel,
    /// A Redis Cluster reached through `redis.cluster_nodes`.
    Cluster,
}

impl RedisMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RedisMode::Standalone => "standalone",
            RedisMode::Sentinel => "sentinel",
            RedisMode::Cluster => "cluster",
        }
    }
}

/// `redis.persistence`: what a Redis that would lose data on a restart (no
/// AOF and no RDB save points) or evict keys (`maxmemory-policy` other than
/// `noeviction`) means for the daemon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersistencePolicy {
    /// `serve` refuses to start; found later, dialling pauses until fixed.
    #[default]
    Require,
    /// Run anyway, logging at ERROR and setting `sampark_redis_not_durable`.
    Warn,
}

impl PersistencePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PersistencePolicy::Require => "require",
            PersistencePolicy::Warn => "warn",
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            mode: RedisMode::Standalone,
            url: RedisUrl::default(),
            sentinels: Vec::new(),
            sentinel_master: String::new(),
            sentinel_username: String::new(),
            sentinel_password: Secret::default(),
            sentinel_master_username: String::new(),
            sentinel_master_password: Secret::default(),
            sentinel_tls: false,
            cluster_nodes: Vec::new(),
            wait_replicas: 0,
            wait_timeout_ms: 100,
            key_prefix: "sampark".into(),
            shards: 16,
            connect_timeout_ms: 5_000,
            response_timeout_ms: 2_000,
            persistence: PersistencePolicy::Require,
            tls: RedisTlsSettings::default(),
        }
    }
}

impl RedisSettings {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn response_timeout(&self) -> Duration {
        Duration::from_millis(self.response_timeout_ms)
    }
    pub fn wait_timeout(&self) -> Duration {
        Duration::from_millis(self.wait_timeout_ms)
    }

    /// `(host, port)` of each of `sentinels`; `Err` names the first that is
    /// not `host:port`.
    pub fn sentinel_addresses(&self) -> Result<Vec<(String, u16)>, String> {
        self.sentinels
            .iter()
            .map(|s| {
                s.rsplit_once(':')
                    .filter(|(host, _)| !host.is_empty())
                    .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                    .ok_or_else(|| format!("{s:?} is not host:port"))
            })
            .collect()
    }

    /// Where Redis is, per `mode`, for the store to connect to.
    pub fn target(&self) -> crate::store::redis::Target {
        use crate::store::redis::{Auth, Target};
        let secret = |s: &Secret| (!s.is_empty()).then(|| s.expose().to_owned());
        let name = |s: &String| (!s.is_empty()).then(|| s.clone());
        match self.mode {
            RedisMode::Standalone => Target::standalone(self.url.expose()),
            RedisMode::Sentinel => Target::Sentinel {
                // Validation refuses a bad address before this is used.
                sentinels: self.sentinel_addresses().unwrap_or_default(),
                master: self.sentinel_master.clone(),
                sentinel_auth: Auth {
                    username: name(&self.sentinel_username),
                    password: secret(&self.sentinel_password),
                },
                auth: Auth {
                    username: name(&self.sentinel_master_username),
                    password: secret(&self.sentinel_master_password),
                },
                db: 0,
                tls: self.sentinel_tls,
            },
            RedisMode::Cluster => Target::Cluster {
                nodes: self
                    .cluster_nodes
                    .iter()
                    .map(|u| u.expose().to_owned())
                    .collect(),
            },
        }
    }

    /// Where Redis is, for logs: never a password.
    pub fn shown(&self) -> String {
        match self.mode {
            RedisMode::Standalone => self.url.redacted(),
            RedisMode::Sentinel => format!(
                "sentinel master {:?} via {}{}",
                self.sentinel_master,
                self.sentinels.join(","),
                if self.sentinel_tls { " (TLS)" } else { "" }
            ),
            RedisMode::Cluster => format!(
                "cluster via {}",
                self.cluster_nodes
                    .iter()
                    .map(RedisUrl::redacted)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// Which provider adapter to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Twilio's 2010-04-01 REST API, or anything compatible with it (the
    /// simulator included, through `base_url`).
    Twilio,
    /// Exotel's v1 Calls API and ExoML (`[provider.exotel]`).
    Exotel,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "twilio",
            ProviderKind::Exotel => "exotel",
        }
    }
}

/// `[provider]`
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Secret,
    pub request_timeout_ms: u64,
    pub ring_timeout_secs: u64,
    /// The provider account's calls-per-second cap, enforced in process.
    pub calls_per_second: u32,
    pub max_concurrent_calls: u32,
    /// Calls in progress at once across the fleet (dialling or connected;
    /// the account's channel limit). 0 = no cap.
    pub max_live_calls: u32,
    /// Wait before retrying an originate the provider throttled without
    /// saying how long, or could not take.
    pub retry_after_ms: u64,
    /// Write each gather's valid keys into the call-control markup for the
    /// simulator. Off in production.
    pub choice_hints: bool,
    /// `[provider.exotel]`, read when `kind = "exotel"`.
    pub exotel: ExotelSettings,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            kind: ProviderKind::Twilio,
            base_url: "https://api.twilio.com".into(),
            account_sid: String::new(),
            auth_token: Secret::default(),
            request_timeout_ms: 10_000,
            ring_timeout_secs: 30,
            calls_per_second: 1,
            max_concurrent_calls: 50,
            max_live_calls: 0,
            retry_after_ms: 5_000,
            choice_hints: false,
            exotel: ExotelSettings::default(),
        }
    }
}

impl ProviderSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn ring_timeout(&self) -> Duration {
        Duration::from_secs(self.ring_timeout_secs)
    }
    pub fn retry_after(&self) -> Duration {
        Duration::from_millis(self.retry_after_ms)
    }
}

/// `[webhook]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    pub listen: String,
    /// The base URL the provider reaches us at (through proxies and load
    /// balancers); webhook signatures are computed over it.
    pub public_url: String,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    pub max_connections: usize,
    /// Open connections one client address may hold; unset: as many as
    /// `max_connections` (a provider's edge, or the proxy in front of
    /// sampark, is one client sending every webhook).
    pub max_connections_per_source: Option<usize>,
    pub tls: TlsSettings,
    pub http: HttpSettings,
}

impl WebhookSettings {
    /// The per-address cap in effect.
    pub fn per_source_cap(&self) -> usize {
        self.max_connections_per_source
            .unwrap_or(self.max_connections)
    }
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            body_limit_bytes: 64 * 1024,
            request_timeout_ms: 10_000,
            max_connections: 1_024,
            max_connections_per_source: None,
            tls: TlsSettings::default(),
            http: HttpSettings::default(),
        }
    }
}

impl WebhookSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `[webhook.tls]`, `[admin.tls]`: serve HTTPS when both paths are set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub cert_path: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_path: Option<PathBuf>,
}

impl TlsSettings {
    /// `(cert, key)` when TLS is on. Validation guarantees both or neither.
    pub fn paths(&self) -> Option<(&Path, &Path)> {
        match (&self.cert_path, &self.key_path) {
            (Some(cert), Some(key)) => Some((cert, key)),
            _ => None,
        }
    }
}

/// `[admin]`: the operator API, the console and `/metrics`, on their own listener so they
/// are never exposed where the provider's webhooks are.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    pub listen: String,
    // --- access (see `admin.rs`): tokens, roles, the metrics token ---
    /// One operator token named `admin` (kept from before named tokens);
    /// with no token at all the listener is open, which validation allows
    /// on loopback only.
    pub token: Option<Secret>,
    /// `token` read from a file (at start and on SIGHUP).
    pub token_file: Option<PathBuf>,
    /// `[[admin.tokens]]`: named tokens with a role.
    pub tokens: Vec<super::admin::AdminToken>,
    /// When set, `/metrics` needs this bearer token (or an admin token);
    /// unset, it is open.
    pub metrics_token: Option<Secret>,
    pub metrics_token_file: Option<PathBuf>,
    // --- end of access ---
    pub tls: TlsSettings,
    /// Milliseconds to read a request's body and answer it.
    pub request_timeout_ms: u64,
    pub max_connections: usize,
    /// Open connections one client address may hold.
    pub max_connections_per_source: usize,
    pub http: HttpSettings,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9090".into(),
            token: None,
            token_file: None,
            tokens: Vec::new(),
            metrics_token: None,
            metrics_token_file: None,
            tls: TlsSettings::default(),
            request_timeout_ms: 60_000,
            max_connections: 64,
            max_connections_per_source: 16,
            http: HttpSettings::default(),
        }
    }
}

impl AdminSettings {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `[dialer]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialerSettings {
    /// This instance's consumer name; empty means `hostname-pid`.
    pub instance: String,
    pub batch_size: usize,
    pub poll_interval_ms: u64,
    pub originate_lease_secs: u64,
    pub max_call_secs: u64,
    pub max_attempts: u32,
    pub retry_backoff_secs: Vec<u64>,
    pub reclaim_after_secs: u64,
    /// How long the reconciler keeps asking the provider about a call before
    /// recording its outcome as `unknown`.
    pub reconcile_give_up_secs: u64,
}

impl Default for DialerSettings {
    fn default() -> Self {
        Self {
            instance: String::new(),
            batch_size: 64,
            poll_interval_ms: 60_000,
            originate_lease_secs: 60,
            max_call_secs: 900,
            max_attempts: 3,
            retry_backoff_secs: vec![300, 1_800, 7_200],
            reclaim_after_secs: 120,
            reconcile_give_up_secs: 86_400,
        }
    }
}

impl DialerSettings {
    /// The consumer name to use in Redis consumer groups: `instance`, or
    /// `hostname-pid` so two processes on one host never share one.
    pub fn consumer_name(&self) -> String {
        if !self.instance.is_empty() {
            return self.instance.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{host}-{}", std::process::id())
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }
    pub fn originate_lease(&self) -> Duration {
        Duration::from_secs(self.originate_lease_secs)
    }
    pub fn max_call(&self) -> Duration {
        Duration::from_secs(self.max_call_secs)
    }
    pub fn reclaim_after(&self) -> Duration {
        Duration::from_secs(self.reclaim_after_secs)
    }
    pub fn reconcile_give_up(&self) -> Duration {
        Duration::from_secs(self.reconcile_give_up_secs)
    }

    /// The dialer's retry policy.
    pub fn retry_policy(&self) -> crate::calls::RetryPolicy {
        crate::calls::RetryPolicy {
            max_attempts: self.max_attempts,
            backoff: self
                .retry_backoff_secs
                .iter()
                .map(|&s| Duration::from_secs(s))
                .collect(),
        }
    }
}

/// `[dialplans]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanSettings {
    pub dir: PathBuf,
}

impl Default for DialplanSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("dialplans"),
        }
    }
}

/// `[inbound]`: calls citizens make to the programme's number.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InboundSettings {
    /// Answer inbound calls (and remember visits at intake for them).
    pub enabled: bool,
    /// The dialplan inbound callers hear (its `[inbound]` section attributes
    /// the call to a recent visit).
    pub dialplan: String,
    /// How long a visit is remembered for attributing inbound calls.
    pub lookback_days: u32,
    /// Inbound calls live at once, fleet-wide; more callers hear `busy`.
    pub max_concurrent: u32,
    /// The programme's number: the caller id of call-backs.
    pub number: String,
    /// The campaign call-backs requested on inbound calls are queued in.
    pub callback_campaign: String,
    /// The dialplan a call-back plays.
    pub callback_dialplan: String,
}

impl Default for InboundSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            dialplan: "mo-sarkar-inbound".into(),
            lookback_days: 30,
            max_concurrent: 50,
            number: "+916742100100".into(),
            callback_campaign: "inbound-callbacks".into(),
            callback_dialplan: "mo-sarkar-feedback".into(),
        }
    }
}

impl InboundSettings {
    pub fn lookback(&self) -> Duration {
        Duration::from_secs(u64::from(self.lookback_days) * 86_400)
    }
}

/// `[reports]`: what results are broken down by.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsSettings {
    /// The programme's departments, as campaigns name them in `department`:
    /// the only values the `department` label of the per-department metrics
    /// takes (any other department counts as `other`, so a typo in a campaign
    /// document cannot add series). Empty: every department is `other`.
    pub departments: Vec<String>,
}

/// `[officials]`: officials' calls requested one at a time
/// (`POST /admin/official-calls`, the console).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfficialsSettings {
    /// The plan an official's call follows: must be loaded and have
    /// `[bridge]` for requests to be taken (campaign documents of
    /// `kind: "official"` name their own).
    pub dialplan: String,
    /// The programme's number the citizen sees.
    pub caller_id: String,
}

impl Default for OfficialsSettings {
    fn default() -> Self {
        Self {
            dialplan: "official-call".into(),
            caller_id: "+916742100100".into(),
        }
    }
}

/// `[intake]`: what an entry of the intake stream may be.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeSettings {
    /// The largest entry read (field names and values, bytes); a larger
    /// one is dead-lettered with an excerpt, never loaded.
    pub max_document_bytes: u64,
    /// Times an entry may be taken without being finished before it is
    /// dead-lettered instead of taken again.
    pub max_deliveries: u32,
    /// Contacts one campaign document may hold; a larger one is
    /// dead-lettered whole, before its contacts are read.
    pub max_contacts_per_document: usize,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        let limits = crate::store::IntakeLimits::default();
        Self {
            max_document_bytes: limits.max_document_bytes,
            max_deliveries: limits.max_deliveries,
            max_contacts_per_document: crate::domain::json_guard::DEFAULT_MAX_CONTACTS,
        }
    }
}

impl IntakeSettings {
    pub fn limits(&self) -> crate::store::IntakeLimits {
        crate::store::IntakeLimits {
            max_document_bytes: self.max_document_bytes,
            max_deliveries: self.max_deliveries,
        }
    }
}

/// `[shutdown]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShutdownSettings {
    pub grace_secs: u64,
}

impl Default for ShutdownSettings {
    fn default() -> Self {
        Self { grace_secs: 30 }
    }
}

impl ShutdownSettings {
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.grace_secs)
    }
}

/// `[runtime]`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Threads that run the daemon's tasks; 0: one per core.
    pub worker_threads: usize,
}

/// The most worker threads `runtime.worker_threads` may ask for.
pub const MAX_WORKER_THREADS: usize = 256;

/// `[log]`
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, e.g. `info,sampark=debug`.
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_name_defaults_to_host_and_pid() {
        let mut d = DialerSettings::default();
        let name = d.consumer_name();
        assert!(
            name.ends_with(&format!("-{}", std::process::id())),
            "{name}"
        );
        d.instance = "dialer-a".into();
        assert_eq!(d.consumer_name(), "dialer-a");
    }
}
