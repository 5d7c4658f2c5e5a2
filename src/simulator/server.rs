//! The simulator's lifecycle: binding the REST server, sharing state with
//! call tasks, starting automatic inbound calls, and draining all of them on
//! shutdown.
//!
//! Owns: `Simulator` (the public handle), the accept loop and graceful
//! shutdown. Does not own: request handling (`api`), calls (`call`) or
//! placing inbound calls (`inbound`).

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, warn};

use super::client::WebhookClient;
use super::inbound::{self, Line};
use super::ledger::{Ledger, LedgerEntry};
use super::persona::Persona;
use super::registry::Registry;
use super::{SimulatorConfig, SimulatorError, api, arrivals};

/// How long open HTTP connections get to finish after shutdown.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

/// State shared by the REST handlers and the call tasks.
pub(crate) struct Shared {
    pub config: SimulatorConfig,
    pub registry: Registry,
    pub ledger: Ledger,
    pub client: WebhookClient,
    /// The calls-per-second cap, when configured.
    pub limiter: Option<DefaultDirectRateLimiter>,
    /// Every call task, so `wait` can drain them.
    pub tracker: TaskTracker,
    /// Cancelled on shutdown; call tasks stop where they stand.
    pub calls: CancellationToken,
    /// The programme's number and its callers, for inbound calls.
    pub line: Line,
    /// The runtime the simulator started on: inbound calls may be placed
    /// from outside it (`Simulator::place_inbound` is not async).
    pub runtime: Handle,
}

/// A running provider simulator (Twilio's or Exotel's wire format).
pub struct Simulator {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    server: JoinHandle<()>,
}

impl Simulator {
    /// Validates `config`, opens the ledger and serves the REST API on
    /// `listener` until `shutdown` is cancelled.
    pub async fn start(
        config: SimulatorConfig,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<Self, SimulatorError> {
        config.validate()?;
        let local_addr = listener.local_addr().map_err(SimulatorError::Listener)?;
        let ledger = Ledger::open(config.ledger.as_deref())?;
        let client = WebhookClient::new(config.wire, &config.auth_token, config.http_timeout)?;
        let limiter = config
            .calls_per_second
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::direct(Quota::per_second(n)));
        let line = Line::new(&config)?;
        let shared = Arc::new(Shared {
            config,
            registry: Registry::default(),
            ledger,
            client,
            limiter,
            tracker: TaskTracker::new(),
            calls: shutdown.child_token(),
            line,
            runtime: Handle::current(),
        });
        info!(simulator.addr = %local_addr, "provider simulator listening");
        let span = tracing::info_span!("simulator", simulator.addr = %local_addr);
        let arrivals = arrivals::run(Arc::clone(&shared)).instrument(span.clone());
        shared.tracker.spawn(arrivals);
        let server = tokio::spawn(serve(Arc::clone(&shared), listener, shutdown).instrument(span));
        Ok(Self {
            shared,
            local_addr,
            server,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://127.0.0.1:PORT`, the base URL to give the provider adapter.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// A copy of every ledger entry so far, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.ledger.snapshot()
    }

    /// Calls accepted and not yet ended.
    pub fn active_calls(&self) -> usize {
        self.shared.registry.active()
    }

    /// Has a citizen call the programme's number: from `from` (E.164), or
    /// a caller drawn as for automatic calls when `None`; Gathers answered by
    /// `persona`, or the seeded random citizen when `None`. Returns the call
    /// sid at once; the call runs on the simulator's runtime. Never refused
    /// for `max_concurrent`, nor subject to `calls_per_second`.
    pub fn place_inbound(
        &self,
        from: Option<&str>,
        persona: Option<Persona>,
    ) -> Result<String, SimulatorError> {
        inbound::place(&self.shared, from, persona).map(|record| record.sid)
    }

    /// Waits until the simulator has shut down: the server stopped and every
    /// call task finished.
    pub async fn wait(self) {
        if let Err(error) = self.server.await {
            warn!(%error, "simulator server task failed");
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
    }
}

async fn serve(shared: Arc<Shared>, listener: TcpListener, shutdown: CancellationToken) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    // Usually out of file descriptors: back off, keep serving.
                    warn!(%error, "simulator accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let for_service = Arc::clone(&shared);
        let service = service_fn(move |req| api::handle(Arc::clone(&for_service), req));
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%error, "simulator connection ended with an error");
            }
        });
    }
    drop(listener);
    shared.calls.cancel();
    tokio::select! {
        () = graceful.shutdown() => debug!("simulator connections drained"),
        () = tokio::time::sleep(DRAIN_GRACE) => warn!("simulator connections did not drain in time"),
    }
}
