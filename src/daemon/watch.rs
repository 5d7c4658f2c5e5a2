//! The data watch: keeps this instance from dialling on data it cannot
//! trust. One task per daemon, on the back token (it runs while webhooks do).
//!
//! Every [`CHECK_EVERY`], and at once when a consumer-group read found its
//! group missing, it reads the epoch marker (`store/guard.rs`, table there)
//! and opens or closes the [`DialGate`]:
//!
//! | verdict | does |
//! |---|---|
//! | `Fresh` | writes the first epoch id, remembers it, opens |
//! | `Adopt`, `Same` | remembers the id, opens (logs a resume if it was held) |
//! | `Held` | closes (`RedisEmpty`), logs at ERROR what to do, again every [`REMIND_EVERY`] |
//! | `Lost` | writes the hold into Redis (the whole fleet stops), then as `Held` |
//!
//! At its first read, after Redis was unreachable, and every
//! [`DURABILITY_EVERY`] it also reads the persistence settings: problems are
//! logged at ERROR and set `sampark_redis_not_durable`; under
//! `redis.persistence = "require"` they close the gate (`NotDurable`) until
//! fixed. (`serve` refuses to start on them in the first place, see
//! [`refuse_unless_durable`].) Until its first successful read the gate stays
//! closed (`Unverified`), so a fleet-wide hold already in Redis is obeyed
//! from the start. A backend without a data guard (the in-memory store)
//! opens the gate and ends the task.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::PersistencePolicy;
use crate::dialer::{DialGate, PauseCause};
use crate::store::Store;
use crate::store::guard::{DataGuard, Durability, EpochMarker, EpochVerdict, judge_epoch};
use crate::telemetry::{Metrics, events};

/// How often the epoch marker is read: dialling stops within about this long
/// of Redis coming back empty, at once if a consumer-group read notices
/// first. One HGETALL a second per instance.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often the persistence settings are read again while Redis answers.
const DURABILITY_EVERY: Duration = Duration::from_secs(30);
/// How often a hold is logged again while it lasts.
const REMIND_EVERY: Duration = Duration::from_secs(300);

/// The task; see the module docs.
pub struct DataWatch {
    pub store: Arc<dyn Store>,
    pub gate: DialGate,
    pub metrics: Arc<Metrics>,
    pub persistence: PersistencePolicy,
    /// This instance's name, written into a hold it sets.
    pub instance: String,
}

/// What the watch has seen so far.
#[derive(Default)]
struct Seen {
    epoch: Option<String>,
    reachable: bool,
    durability_read_at: Option<Instant>,
    /// The problems last logged (`None`: none read yet).
    problems: Option<Vec<String>>,
    unchecked_logged: bool,
    reminded_at: Option<Instant>,
}

/// `serve`'s check before starting: under `require`, the problems that make
/// it refuse to start (each names the Redis setting to change). A Redis whose
/// settings cannot be read is never refused for that alone; the watch logs it.
pub async fn refuse_unless_durable(
    guard: &dyn DataGuard,
    policy: PersistencePolicy,
) -> Result<(), Vec<String>> {
    if policy == PersistencePolicy::Warn {
        return Ok(());
    }
    let problems = guard.durability().await.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

impl DataWatch {
    pub async fn run(self, cancel: CancellationToken) {
        let Some(guard) = self.store.data_guard() else {
            self.gate.resume(PauseCause::Unverified);
            self.publish();
            return;
        };
        // Reachable until shown otherwise, so a first read that fails is logged.
        let mut seen = Seen {
            reachable: true,
            ..Seen::default()
        };
        while !cancel.is_cancelled() {
            self.tick(guard, &mut seen).await;
            self.publish();
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
                _ = guard.groups_lost() => {}
            }
        }
        info!("data watch stopped");
    }

    fn publish(&self) {
        self.metrics.set_dialling_paused(self.gate.is_paused());
    }

    async fn tick(&self, guard: &dyn DataGuard, seen: &mut Seen) {
        let marker = match guard.read_epoch().await {
            Ok(marker) => marker,
            Err(e) => {
                if std::mem::replace(&mut seen.reachable, false) {
                    warn!(
                        error = %e,
                        dialling_started = !self.gate.is_paused_for(PauseCause::Unverified),
                        "Cannot read the epoch marker; will retry (dialling does not start before a first read)."
                    );
                }
                return;
            }
        };
        let reconnected = !std::mem::replace(&mut seen.reachable, true);
        let due = seen
            .durability_read_at
            .is_none_or(|at| at.elapsed() >= DURABILITY_EVERY);
        if reconnected || due {
            self.check_durability(guard, seen).await;
        }
        self.follow_epoch(guard, seen, marker).await;
    }

    async fn check_durability(&self, guard: &dyn DataGuard, seen: &mut Seen) {
        seen.durability_read_at = Some(Instant::now());
        let report = guard.durability().await;
        if let Durability::Unknown(reason) = &report {
            // Never refused for that alone; the last verdict stands.
            if !std::mem::replace(&mut seen.unchecked_logged, true) {
                events::redis_durability_unchecked(reason);
            }
            return;
        }
        let problems = report.problems();
        let require = self.persistence == PersistencePolicy::Require;
        self.metrics.set_redis_not_durable(!problems.is_empty());
        if seen.problems.as_ref() != Some(&problems) {
            if !problems.is_empty() {
                events::redis_not_durable(&problems, require);
            } else if seen.problems.is_some() {
                events::redis_durable_again();
            }
            for note in report.notes() {
                events::redis_durability_note(&note);
            }
            seen.problems = Some(problems.clone());
        }
        if require && !problems.is_empty() {
            self.gate.pause(PauseCause::NotDurable);
        } else {
            self.gate.resume(PauseCause::NotDurable);
        }
    }

    async fn follow_epoch(&self, guard: &dyn DataGuard, seen: &mut Seen, marker: EpochMarker) {
        match judge_epoch(seen.epoch.as_deref(), &marker) {
            EpochVerdict::Fresh => match guard.start_epoch().await {
                Ok(started) => {
                    seen.epoch = started.id.clone();
                    match &started.hold {
                        Some(reason) => self.held(reason, started.held_at_ms, seen),
                        None => self.open(seen),
                    }
                }
                Err(e) => warn!(error = %e, "Cannot write the epoch marker; will retry."),
            },
            EpochVerdict::Adopt(id) => {
                seen.epoch = Some(id);
                self.open(seen);
            }
            EpochVerdict::Same => self.open(seen),
            EpochVerdict::Held(reason) => self.held(&reason, marker.held_at_ms, seen),
            EpochVerdict::Lost(reason) => {
                let reason = format!("{reason} (seen by instance {})", self.instance);
                // Written into Redis so every instance, and any started
                // later, pauses too; this one pauses even if that fails.
                if let Err(e) = guard.hold_dialling(&reason).await {
                    warn!(error = %e, "Cannot write the dialling hold into Redis; pausing this instance, will retry.");
                }
                self.held(&reason, None, seen);
            }
        }
    }

    fn open(&self, seen: &mut Seen) {
        self.gate.resume(PauseCause::Unverified);
        if self.gate.resume(PauseCause::RedisEmpty) {
            events::dialling_resumed(seen.epoch.as_deref().unwrap_or(""));
        }
        seen.reminded_at = None;
    }

    fn held(&self, reason: &str, held_at_ms: Option<i64>, seen: &mut Seen) {
        self.gate.resume(PauseCause::Unverified);
        let started = self.gate.pause(PauseCause::RedisEmpty);
        let remind = seen
            .reminded_at
            .is_none_or(|at| at.elapsed() >= REMIND_EVERY);
        if started || remind {
            events::dialling_held(reason, held_at_ms);
            seen.reminded_at = Some(Instant::now());
        }
    }
}
