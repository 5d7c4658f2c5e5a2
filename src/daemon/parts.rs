//! What a daemon is built from, assembled in one place from settings: `serve`
//! uses it as is; the demo and the tests use it too, overriding only the
//! dialer's timings (which they run at test speed).

use std::sync::Arc;

use crate::accountability::scorer::ScoringContext;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::warn;

use crate::calls::InboundPolicy;
use crate::config::{PersistencePolicy, Settings};
use crate::dialer::{DialerConfig, Quotas};
use crate::dialplan::Dialplans;
use crate::domain::OfficialId;
use crate::provider::{ProviderPair, ProviderSetupError, build_provider};
use crate::store::{CitizenCaps, Store};
use crate::telemetry::Metrics;
use crate::webhook::{AdminAccess, HttpServerConfig, OfficialCallDesk};

/// The admin API takes whole campaign documents: allow large bodies (once
/// the request has shown its token) and the time to upload them.
const ADMIN_BODY_LIMIT: usize = 64 * 1024 * 1024;
const ADMIN_DRAIN: Duration = Duration::from_secs(5);
/// Webhook requests are answered in milliseconds; ten seconds covers any
/// request still open at shutdown.
const WEBHOOK_DRAIN: Duration = Duration::from_secs(10);

/// Everything the daemon is built from.
pub struct DaemonParts {
    pub store: Arc<dyn Store>,
    pub provider: ProviderPair,
    pub dialplans: Arc<Dialplans>,
    pub metrics: Arc<Metrics>,
    pub dialer: DialerConfig,
    /// How inbound calls are taken (`None`: they are not).
    pub inbound: Option<InboundPolicy>,
    pub webhook_listener: TcpListener,
    pub webhook: HttpServerConfig,
    /// The admin API / metrics listener, if any.
    pub admin_listener: Option<TcpListener>,
    pub admin: HttpServerConfig,
    /// The admin listener's tokens (`[admin]`), re-read on SIGHUP.
    pub admin_access: Arc<AdminAccess>,
    /// How requested officials' calls are placed (`[officials]`).
    pub official_calls: OfficialCallDesk,
    /// The URL the provider reaches the webhook listener at.
    pub public_url: String,
    pub shutdown_grace: Duration,
    /// `redis.persistence`, for the data watch's checks while running.
    pub redis_persistence: PersistencePolicy,
    /// Escalation rules and the programme's time zone, for the relay and
    /// the scorer.
    pub scoring: ScoringContext,
    /// `intake.max_contacts_per_document`: a larger intake document is
    /// dead-lettered whole.
    pub max_contacts_per_document: usize,
}

/// Why the parts cannot be built from the settings.
#[derive(Debug, thiserror::Error)]
pub enum PartsError {
    #[error(transparent)]
    Provider(#[from] ProviderSetupError),
    /// `[inbound]` names something that is not there.
    #[error("{0}")]
    Inbound(String),
    /// An admin token file cannot be read.
    #[error("{0}")]
    AdminAccess(String),
}

/// The listeners a daemon serves on (bound by the caller, so tests can use port 0).
pub struct Listeners {
    pub webhook: TcpListener,
    pub admin: Option<TcpListener>,
}

/// TLS of each listener (`None`: plain HTTP), from `[webhook.tls]` and
/// `[admin.tls]`; see `crate::tls::ServerCert` for reloading.
#[derive(Clone, Default)]
pub struct ServerTls {
    pub webhook: Option<Arc<rustls::ServerConfig>>,
    pub admin: Option<Arc<rustls::ServerConfig>>,
}

impl DaemonParts {
    /// The parts `settings` describe, over `store` and `dialplans`.
    pub fn from_settings(
        settings: &Settings,
        store: Arc<dyn Store>,
        dialplans: Arc<Dialplans>,
        listeners: Listeners,
        tls: ServerTls,
    ) -> Result<DaemonParts, PartsError> {
        let public_url = settings.webhook.public_url.clone();
        let provider = build_provider(&settings.provider, &public_url)?;
        let inbound =
            InboundPolicy::from_settings(&settings.inbound, &dialplans, settings.dialer.max_call())
                .map_err(PartsError::Inbound)?;
        let admin_access =
            Arc::new(AdminAccess::from_settings(&settings.admin).map_err(PartsError::AdminAccess)?);
        let rules = dialplans.scoring_rules();
        let official_calls = OfficialCallDesk {
            dialplan: settings.officials.dialplan.clone(),
            caller_id: settings.officials.caller_id.clone(),
        };
        let bridged = dialplans
            .get(&official_calls.dialplan)
            .is_some_and(|plan| plan.bridge().is_some());
        if !bridged {
            warn!(dialplan = %official_calls.dialplan, "officials.dialplan is not a loaded plan with [bridge]: requested officials' calls will be refused");
        }
        Ok(DaemonParts {
            max_contacts_per_document: settings.intake.max_contacts_per_document,
            official_calls,
            inbound,
            store,
            provider,
            metrics: metrics_registry(
                settings,
                rules.severities().map(|(flag, _)| flag.to_owned()),
            ),
            dialplans: dialplans.clone(),
            dialer: dialer_config(settings),
            webhook_listener: listeners.webhook,
            webhook: HttpServerConfig {
                body_limit: settings.webhook.body_limit_bytes,
                request_timeout: settings.webhook.request_timeout(),
                max_connections: settings.webhook.max_connections,
                max_connections_per_source: settings.webhook.per_source_cap(),
                drain_timeout: WEBHOOK_DRAIN,
                tls: tls.webhook,
                http: settings.webhook.http.clone(),
            },
            admin_listener: listeners.admin,
            admin: admin_http_config(settings, tls.admin),
            admin_access,
            public_url,
            shutdown_grace: settings.shutdown.grace(),
            redis_persistence: settings.redis.persistence,
            scoring: ScoringContext {
                rules: Arc::new(rules),
                zone: settings.policy.calling_window.zone().clone(),
            },
        })
    }
}

/// The metrics registry `settings` describe: the `department` label takes
/// the values of `reports.departments`, the `flag` label those of
/// `known_flags` (the flags the dialplans escalate); anything else counts as
/// `other`.
pub fn metrics_registry(
    settings: &Settings,
    known_flags: impl IntoIterator<Item = String>,
) -> Arc<Metrics> {
    Arc::new(Metrics::with_bounds(
        settings.reports.departments.iter().cloned(),
        known_flags,
    ))
}

/// The admin listener's limits (the same before and after the store is
/// reachable), served over `tls` if given.
pub fn admin_http_config(
    settings: &Settings,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> HttpServerConfig {
    let admin = &settings.admin;
    HttpServerConfig {
        body_limit: ADMIN_BODY_LIMIT,
        request_timeout: admin.request_timeout(),
        max_connections: admin.max_connections,
        max_connections_per_source: admin.max_connections_per_source,
        drain_timeout: ADMIN_DRAIN,
        tls,
        http: admin.http.clone(),
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
        originate_timeout: s.provider.request_timeout(),
        max_call: s.dialer.max_call(),
        reclaim_after: s.dialer.reclaim_after(),
        ring_timeout: s.provider.ring_timeout(),
        hours: s.policy.calling_window.clone(),
        number_plan: s.policy.number_plan(),
        citizen_caps: CitizenCaps {
            per_day: s.policy.max_calls_per_citizen_per_day,
            per_week: s.policy.max_calls_per_citizen_per_week,
        },
        max_live_calls: Some(s.provider.max_live_calls).filter(|&n| n > 0),
        retry: s.dialer.retry_policy(),
        quotas: Quotas {
            default: s.rate.default.quota(),
            overrides,
            departments: s
                .rate
                .departments
                .iter()
                .map(|(d, limit)| (d.clone(), limit.quota()))
                .collect(),
        },
        max_concurrent_originates: usize::try_from(s.provider.max_concurrent_calls)
            .unwrap_or(usize::MAX)
            .max(1),
        provider_cps: Some(s.provider.calls_per_second).filter(|&n| n > 0),
        provider_backoff: s.provider.retry_after(),
        reconcile_give_up: s.dialer.reconcile_give_up(),
    }
}
