//! The daemon before its store is reachable: the admin listener already
//! serves `/healthz` (alive), `/readyz` (503 with the reason it waits) and
//! `/metrics`, so a liveness probe does not kill a pod whose Redis is late;
//! every other admin route answers 503 until [`Startup::start`] hands it the
//! running daemon.
//!
//! `serve` binds its listeners, calls [`Startup::serve_admin`], then connects
//! to Redis (saying why it waits through [`Startup::waiting_for`]) and starts
//! the rest with [`Startup::start`]. [`Daemon::start`] does all of it at once
//! for callers that have their store already (demo, tests).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use super::{Daemon, DaemonParts};
use crate::telemetry::{Listener, Metrics};
use crate::tls::{POLL_INTERVAL, ServerCert, watch_certificates};
use crate::webhook::{AdminAccess, AdminFront, HttpServer, HttpServerConfig, reload_on_sighup};

/// Tasks started before the store: the admin listener, if any.
pub struct Startup {
    pub(super) tracker: TaskTracker,
    /// Stops the admin listener (and, once started, every back task).
    pub(super) back: CancellationToken,
    pub(super) admin: Option<(Arc<AdminFront>, SocketAddr)>,
    pub(super) metrics: Arc<Metrics>,
    /// The admin tokens the listener checks (the daemon's, once started).
    pub(super) access: Arc<AdminAccess>,
}

impl Startup {
    /// Serves the admin listener now: health and metrics only, until
    /// [`Startup::start`]. Must be called inside a Tokio runtime.
    pub fn serve_admin(
        listener: TcpListener,
        config: HttpServerConfig,
        metrics: Arc<Metrics>,
        access: Arc<AdminAccess>,
    ) -> std::io::Result<Startup> {
        let mut startup = Startup::without_admin(metrics, access);
        let (tracker, back) = (&startup.tracker, &startup.back);
        startup.admin = Some(spawn_admin(
            tracker,
            back,
            (&startup.metrics, &startup.access),
            listener,
            config,
        )?);
        Ok(startup)
    }

    /// Reloads the listeners' certificates on SIGHUP and when their files
    /// change, from now until the daemon stops (see `crate::tls`).
    pub fn reload_certificates(&self, certs: Vec<Arc<ServerCert>>) {
        self.tracker.spawn(watch_certificates(
            certs,
            POLL_INTERVAL,
            self.back.child_token(),
        ));
    }

    /// Nothing served until [`Startup::start`].
    /// Must be called inside a Tokio runtime: from here on SIGHUP re-reads
    /// the admin tokens (and no longer ends the process).
    pub fn without_admin(metrics: Arc<Metrics>, access: Arc<AdminAccess>) -> Startup {
        let tracker = TaskTracker::new();
        let back = CancellationToken::new();
        tracker.spawn(reload_on_sighup(access.clone(), back.child_token()));
        Startup {
            tracker,
            back,
            admin: None,
            metrics,
            access,
        }
    }

    /// Where the admin listener is, if it serves.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().map(|(_, addr)| *addr)
    }

    /// The metrics registry `/metrics` shows (the daemon's, once started).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Says, on `/readyz`, why the daemon is not running yet.
    pub fn waiting_for(&self, reason: impl Into<String>) {
        if let Some((front, _)) = &self.admin {
            front.waiting(reason);
        }
    }

    /// Starts every other task on `parts`; the admin listener then serves
    /// the whole admin API. The daemon counts into this startup's metrics
    /// registry (it replaces `parts.metrics`), so `/metrics` never changes
    /// registry under a scraper.
    pub fn start(self, mut parts: DaemonParts) -> std::io::Result<Daemon> {
        parts.metrics = self.metrics.clone();
        parts.admin_access = self.access.clone();
        Daemon::launch(self, parts)
    }

    /// Stops the admin listener of a daemon that never started.
    pub async fn stop(self) {
        self.back.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        info!("sampark stopped before it started");
    }
}

/// Serves the admin listener on `tracker`, stopped with `back`: health and
/// metrics only until its front is told the daemon runs.
pub(super) fn spawn_admin(
    tracker: &TaskTracker,
    back: &CancellationToken,
    (metrics, access): (&Arc<Metrics>, &Arc<AdminAccess>),
    listener: TcpListener,
    config: HttpServerConfig,
) -> std::io::Result<(Arc<AdminFront>, SocketAddr)> {
    let front = Arc::new(AdminFront::starting(
        metrics.clone(),
        access.clone(),
        "starting",
    ));
    let server = HttpServer::new("admin", listener, config, front.clone())
        .counting(metrics.clone(), Listener::Admin);
    let addr = server.local_addr()?;
    tracker.spawn(server.run(back.child_token()));
    Ok((front, addr))
}
