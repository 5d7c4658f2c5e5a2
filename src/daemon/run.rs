//! Starting and stopping the daemon's tasks.
//!
//! Shutdown (SIGTERM/SIGINT, or `Daemon::shutdown`):
//! 1. stop intake and new originates (entries read but not started stay
//!    pending and are taken over by another instance or on restart);
//! 2. keep serving webhooks and reconciling until the calls this instance
//!    placed have ended, or the grace period runs out (calls still live then
//!    are finished by the reconciler of whichever instance runs next);
//! 3. flush the feedback outboxes downstream;
//! 4. drain and close the HTTP servers.
//!
//! The dispatch loop dials only while the [`DialGate`] is open; the data
//! watch (`watch.rs`) closes it when Redis came back empty.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, info, info_span, warn};

use super::startup::spawn_admin;
use super::{CampaignLog, DaemonParts, DataWatch, Relay, Startup, flush_feedback};
use crate::accountability::scorer::{Scorer, ScoringContext, score_pending};
use crate::calls::{CallCore, PendingStatuses};
use crate::dialer::{DialGate, Dialer, PauseCause, PlacedCalls, Reconciler};
use crate::intake::IntakeRouter;
use crate::store::Store;
use crate::telemetry::Listener;
use crate::webhook::{AdminRoutes, CallWebhooks, HttpServer};

/// A running daemon.
pub struct Daemon {
    tracker: TaskTracker,
    /// Intake and dialer: stopped first.
    front: CancellationToken,
    /// Webhooks, admin, reconciler, relay: stopped last.
    back: CancellationToken,
    store: Arc<dyn Store>,
    placed: Arc<PlacedCalls>,
    grace: Duration,
    webhook_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    gate: DialGate,
    scoring: ScoringContext,
    instance: String,
}

/// Status callbacks kept in memory while Redis is unreachable: at a
/// million calls a day (about 50 callbacks a second at peak), 10,000 cover a
/// few minutes; beyond that they are refused with 503 and the reconciler
/// settles those calls.
const PENDING_STATUSES: usize = 10_000;

impl Daemon {
    /// Starts every task, the admin listener (if `parts` has one) included.
    /// Must be called inside a Tokio runtime. (`serve` starts the admin
    /// listener first, before Redis is reachable: see [`Startup`].)
    pub fn start(mut parts: DaemonParts) -> std::io::Result<Daemon> {
        let startup = match parts.admin_listener.take() {
            Some(listener) => Startup::serve_admin(
                listener,
                parts.admin.clone(),
                parts.metrics.clone(),
                parts.admin_access.clone(),
            )?,
            None => Startup::without_admin(parts.metrics.clone(), parts.admin_access.clone()),
        };
        startup.start(parts)
    }

    /// Starts every task but those `startup` already runs.
    pub(super) fn launch(startup: Startup, mut parts: DaemonParts) -> std::io::Result<Daemon> {
        let Startup {
            tracker,
            back,
            mut admin,
            ..
        } = startup;
        let front = CancellationToken::new();
        let placed = Arc::new(PlacedCalls::default());
        let consumer = parts.dialer.consumer.clone();
        let core = Arc::new(
            CallCore::new(
                parts.store.clone(),
                parts.provider.control.clone(),
                parts.dialplans.clone(),
                &parts.public_url,
                parts.dialer.retry.clone(),
                parts.metrics.clone(),
            )
            .with_inbound(parts.inbound.clone()),
        );

        let dialplans = parts.dialplans.clone();
        let plans = parts.dialplans.clone();
        let intake = IntakeRouter::new(
            parts.store.clone(),
            Arc::new(move |name: &str| dialplans.contains(name)),
            consumer.clone(),
            parts.dialer.reclaim_after,
            parts.metrics.clone(),
            parts.dialer.hours.clone(),
        )
        .checking_plan_kinds(Arc::new(move |name: &str| {
            plans.get(name).is_some_and(|plan| plan.bridge().is_some())
        }))
        .remembering_visits(parts.inbound.as_ref().map(|p| p.lookback))
        .with_number_plan(parts.dialer.number_plan.clone())
        .with_max_contacts(parts.max_contacts_per_document);
        tracker.spawn(
            intake
                .run(front.child_token())
                .instrument(info_span!("intake")),
        );

        // Closed until the data watch has read the epoch marker once, when
        // the store has one (a fleet-wide hold is obeyed from the start).
        let gate = DialGate::new();
        if parts.store.data_guard().is_some() {
            gate.pause(PauseCause::Unverified);
        }
        let watch = DataWatch {
            store: parts.store.clone(),
            gate: gate.clone(),
            metrics: parts.metrics.clone(),
            persistence: parts.redis_persistence,
            instance: consumer.clone(),
        };
        tracker.spawn(
            watch
                .run(back.child_token())
                .instrument(info_span!("data_watch")),
        );

        let dialer = Dialer::new(
            parts.store.clone(),
            parts.provider.rest.clone(),
            parts.dialer.clone(),
            core.urls().clone(),
            parts.metrics.clone(),
            placed.clone(),
        )
        .with_gate(gate.clone())
        .with_live_calls(core.live_calls());
        tracker.spawn(
            dialer
                .run(front.child_token())
                .instrument(info_span!("dialer")),
        );

        let reconciler = Reconciler::new(
            parts.store.clone(),
            parts.provider.rest.clone(),
            core.clone(),
            parts.dialer.clone(),
            parts.metrics.clone(),
        );
        tracker.spawn(
            reconciler
                .run(back.child_token())
                .instrument(info_span!("reconciler")),
        );

        // The relay wakes the scorer after moving records.
        let relayed = Arc::new(tokio::sync::Notify::new());
        let relay = Relay {
            store: parts.store.clone(),
            metrics: parts.metrics.clone(),
            rules: parts.scoring.rules.clone(),
            sweep_every: parts.dialer.poll_interval,
            relayed: relayed.clone(),
        };
        tracker.spawn(
            relay
                .run(back.child_token())
                .instrument(info_span!("relay")),
        );

        let scorer = Scorer {
            store: parts.store.clone(),
            cx: parts.scoring.clone(),
            metrics: parts.metrics.clone(),
            instance: consumer.clone(),
            sweep_every: parts.dialer.poll_interval,
            relayed,
        };
        tracker.spawn(
            scorer
                .run(back.child_token())
                .instrument(info_span!("scorer")),
        );

        let campaign_log = CampaignLog {
            store: parts.store.clone(),
            instance: consumer.clone(),
            check_every: super::campaign_log::CHECK_EVERY,
            progress_every: super::campaign_log::PROGRESS_EVERY,
        };
        tracker.spawn(
            campaign_log
                .run(back.child_token())
                .instrument(info_span!("campaign_log")),
        );

        let heartbeat = super::Heartbeat {
            store: parts.store.clone(),
            instance: consumer.clone(),
        };
        tracker.spawn(
            heartbeat
                .run(back.child_token())
                .instrument(info_span!("heartbeat")),
        );

        let wakes = super::WakeReader {
            store: parts.store.clone(),
        };
        tracker.spawn(
            wakes
                .run(back.child_token())
                .instrument(info_span!("wake_reader")),
        );

        let pending = Arc::new(PendingStatuses::new(PENDING_STATUSES));
        tracker.spawn(
            pending
                .clone()
                .run(core.clone(), back.child_token())
                .instrument(info_span!("pending_statuses")),
        );
        let webhooks = CallWebhooks {
            core,
            metrics: parts.metrics.clone(),
            pending,
            instance: consumer.clone(),
        };
        let server = HttpServer::new(
            "webhook",
            parts.webhook_listener,
            parts.webhook,
            Arc::new(webhooks),
        )
        .counting(parts.metrics.clone(), Listener::Webhook);
        let webhook_addr = server.local_addr()?;
        tracker.spawn(server.run(back.child_token()));

        // A listener handed in with the parts, the startup serving none.
        if admin.is_none()
            && let Some(listener) = parts.admin_listener.take()
        {
            let config = parts.admin.clone();
            admin = Some(spawn_admin(
                &tracker,
                &back,
                (&parts.metrics, &parts.admin_access),
                listener,
                config,
            )?);
        }
        let admin_addr = admin.map(|(admin_front, addr)| {
            admin_front.running(
                AdminRoutes {
                    store: parts.store.clone(),
                    dialplans: parts.dialplans.clone(),
                    metrics: parts.metrics.clone(),
                    access: parts.admin_access.clone(),
                    eta: Some(crate::dialer::EtaLimits::of(&parts.dialer)),
                    console: crate::webhook::Console::new(Some(gate.clone())),
                    official_calls: parts.official_calls.clone(),
                },
                Some(gate.clone()),
            );
            addr
        });
        tracker.close();
        let admin_shown = admin_addr.map_or_else(|| "none".to_owned(), |a| a.to_string());
        info!(webhook.addr = %webhook_addr, admin.addr = %admin_shown, instance = %consumer, "sampark started");
        Ok(Daemon {
            tracker,
            front,
            back,
            store: parts.store,
            placed,
            grace: parts.shutdown_grace,
            webhook_addr,
            admin_addr,
            gate,
            scoring: parts.scoring,
            instance: consumer,
        })
    }

    /// The gate the dispatch loop obeys (closed while dialling is paused).
    pub fn dial_gate(&self) -> &DialGate {
        &self.gate
    }

    pub fn webhook_addr(&self) -> SocketAddr {
        self.webhook_addr
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// Runs until SIGTERM/SIGINT, then shuts down.
    pub async fn run_until_signal(self) {
        self.run_until(stop_signal()).await;
    }

    /// Runs until `stop` completes (e.g. a [`stop_signal`] taken before the
    /// daemon started), then shuts down.
    pub async fn run_until(self, stop: impl Future<Output = ()>) {
        stop.await;
        info!("shutdown requested");
        self.shutdown().await;
    }

    /// The ordered shutdown described in the module docs.
    pub async fn shutdown(self) {
        self.front.cancel();
        let deadline = tokio::time::Instant::now() + self.grace;
        loop {
            let live = self.placed.prune_ended(self.store.as_ref()).await;
            if live == 0 {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                warn!(
                    live_calls = live,
                    "grace period over; the reconciler will finish the remaining calls"
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match flush_feedback(self.store.as_ref(), &self.scoring.rules).await {
            Ok(n) => info!(records = n, "feedback flushed"),
            Err(e) => {
                warn!(error = %e, "could not flush feedback; records stay in the outbox for the next run")
            }
        }
        // Whatever is not counted now is counted by the next instance's scorer.
        match score_pending(self.store.as_ref(), &self.scoring, &self.instance, |_| {}).await {
            Ok(counted) => info!(records = counted.records, "scorecards up to date"),
            Err(e) => warn!(error = %e, "could not count the last records into the scorecards"),
        }
        self.back.cancel();
        self.tracker.wait().await;
        info!("sampark stopped");
    }
}

/// Completes on the first SIGTERM or SIGINT.
pub async fn wait_for_signal() {
    stop_signal().await;
}

/// Completes on the first SIGTERM or SIGINT after this call: the handlers
/// are installed now, not when the future is first polled, so a signal that
/// arrives while the caller is busy elsewhere (connecting to Redis) is not
/// lost, nor does it kill the process. Must be called inside a Tokio runtime.
pub fn stop_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Ok(mut only), Err(e)) | (Err(e), Ok(mut only)) => {
                    warn!(error = %e, "cannot listen for one of SIGTERM and SIGINT; only the other stops the daemon");
                    only.recv().await;
                }
                (Err(e), Err(_)) => {
                    warn!(error = %e, "cannot listen for SIGTERM or SIGINT; the daemon stops only when killed");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
