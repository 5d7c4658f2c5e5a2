//! Reconciliation: jobs whose in-flight deadline passed are checked against
//! the provider instead of being redialled blindly (guarantee G2).
//!
//! | job state | known call id | provider says                 | action                          |
//! |-----------|---------------|-------------------------------|---------------------------------|
//! | dialing   | no            | a matching call exists (not an earlier attempt's) | adopt it (then as below) |
//! | dialing   | no            | no matching call              | requeue: the dial never happened|
//! | in call   | yes           | terminal status               | conclude as a status callback   |
//! | in call   | yes           | still in progress             | extend the lease                |
//! | in call   | yes           | unknown call id               | terminal `unknown`              |
//! | any       | —             | provider error                | retry later; `unknown` after `reconcile_give_up` |
//!
//! When it runs (no fixed period; docs/architecture.md, "Reconciliation"):
//!
//! | event | next pass |
//! |---|---|
//! | a pass read the sets' first deadlines | at the earliest of them still ahead |
//! | a pass reconciled a shard, or a read failed | [`RECHECK`] later |
//! | a hang-up request still has live calls | [`HANGUP_RECHECK`] later |
//! | this instance granted a dial or extended a lease | at that lease's end, if sooner |
//! | a hang-up asked for (here, or on another instance) | at once |
//! | none of these | the look-over: `dialer.poll_interval_ms`, within [`RECHECK`] ..= the originate lease |

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};

use super::DialerConfig;
use crate::calls::{CallCore, CallError};
use crate::domain::{JobState, Outcome};
use crate::provider::{CallInfo, Provider, ProviderError};
use crate::store::{Finish, Job, JobRef, ShardId, Store, StoreError, Transition};
use crate::telemetry::{Metrics, ReconcileResult, Subsystem, events};

/// The shortest time between two passes over the in-flight sets: after a
/// pass that reconciled a shard (to learn its next deadline), after a
/// failed read, and the floor of the look-over period.
const RECHECK: Duration = Duration::from_millis(500);
/// How soon the hang-up requests are looked at again while one still has
/// calls (a dialling call gets the call id it is hung up by).
const HANGUP_RECHECK: Duration = Duration::from_secs(1);
/// How long to wait before asking the provider again after it failed.
const PROVIDER_RETRY: Duration = Duration::from_secs(15);
/// Slack for clock differences when matching a call to our dial time.
const CLOCK_SLACK_MS: i64 = 120_000;

/// Why one reconciliation could not finish (it runs again later).
#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The reconcile loop of one instance.
#[derive(Clone)]
pub struct Reconciler {
    store: Arc<dyn Store>,
    provider: Arc<dyn Provider>,
    calls: Arc<CallCore>,
    config: Arc<DialerConfig>,
    metrics: Arc<Metrics>,
}

impl Reconciler {
    pub fn new(
        store: Arc<dyn Store>,
        provider: Arc<dyn Provider>,
        calls: Arc<CallCore>,
        config: DialerConfig,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            provider,
            calls,
            config: Arc::new(config),
            metrics,
        }
    }

    /// How often every in-flight set is read even if no deadline is known
    /// to be due: `dialer.poll_interval_ms`, at most the originate lease (a
    /// call another instance placed after a pass, which then died, is
    /// reconciled within one lease of its deadline) and at least
    /// [`RECHECK`].
    fn look_every(&self) -> Duration {
        self.config
            .poll_interval
            .min(self.config.originate_lease)
            .max(RECHECK)
    }

    /// Sleeps until the earliest known deadline (read from the in-flight
    /// sets at each pass, or noted by this instance's own grants and lease
    /// extensions: `store::WorkSignal`), a hang-up request, or the next
    /// look over every set; then reconciles the shards whose first deadline
    /// passed.
    pub async fn run(self, cancel: CancellationToken) {
        // Calls this instance already asked the provider to end.
        let mut hung_up: HashSet<String> = HashSet::new();
        let signal = self.store.work_signal();
        let look_every = self.look_every();
        let mut wake_at = Instant::now();
        while !cancel.is_cancelled() {
            if Instant::now() >= wake_at {
                let next = self.pass(&mut hung_up).await;
                wake_at = next.min(Instant::now() + look_every);
            }
            for at in signal.leases.take().into_values() {
                wake_at = wake_at.min(at);
            }
            if wake_at <= Instant::now() {
                continue;
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until(wake_at) => {}
                _ = signal.leases.notified() => {}
            }
        }
    }

    /// One pass: the first deadline of every in-flight set (and the
    /// fleet-wide gauge) in one read, then the shards due, then the hang-up
    /// requests. Returns when the next pass is due by what it read.
    async fn pass(&self, hung_up: &mut HashSet<String>) -> Instant {
        let started = Instant::now();
        let heads = match self.store.in_flight_heads().await {
            Ok(heads) => heads,
            Err(e) => {
                events::store_error(
                    &self.metrics,
                    Subsystem::Dialer,
                    &e,
                    "reading in-flight deadlines",
                );
                return started + RECHECK;
            }
        };
        // The fleet-wide figure, from the store: calls start and end on
        // different instances, so per-process counting would drift.
        self.metrics
            .set_calls_in_flight(i64::try_from(heads.count).unwrap_or(i64::MAX));
        let mut next = None::<Instant>;
        let mut earliest = |at: Instant| next = Some(next.map_or(at, |n| n.min(at)));
        for (shard, deadline) in (0..self.store.shards()).zip(&heads.next_deadline_ms) {
            let Some(deadline) = *deadline else { continue };
            if deadline > heads.now_ms {
                let wait = u64::try_from(deadline - heads.now_ms).unwrap_or(0);
                earliest(started + Duration::from_millis(wait));
                continue;
            }
            self.reconcile_shard(shard).await;
            // Its next deadline is learnt at the next pass.
            earliest(Instant::now() + RECHECK);
        }
        match self.hang_up_cancelled(hung_up).await {
            // Calls still to hang up (dialling ones get their call id soon).
            Ok(true) => earliest(Instant::now() + HANGUP_RECHECK),
            Ok(false) => {}
            Err(e) => {
                events::store_error(
                    &self.metrics,
                    Subsystem::Dialer,
                    &e,
                    "hanging up a cancelled campaign's calls",
                );
                earliest(Instant::now() + RECHECK);
            }
        }
        next.unwrap_or(Instant::now() + self.look_every())
    }

    /// Reconciles the jobs of `shard` whose deadline passed.
    async fn reconcile_shard(&self, shard: ShardId) {
        match self
            .store
            .due_in_flight(shard, self.config.batch_size)
            .await
        {
            Ok(due) => {
                for (job, attempt) in due {
                    let span = info_span!("reconcile", job.id = %job.id, attempt);
                    self.reconcile(&job, attempt).instrument(span).await;
                }
            }
            Err(e) => {
                events::store_error(
                    &self.metrics,
                    Subsystem::Dialer,
                    &e,
                    "scanning in-flight calls",
                );
            }
        }
    }

    /// `campaign cancel --hangup`: ends the calls in progress of cancelled
    /// campaigns (their status callbacks then conclude them as usual), until
    /// none is left. True while some request still has calls.
    async fn hang_up_cancelled(&self, hung_up: &mut HashSet<String>) -> Result<bool, StoreError> {
        let mut open = false;
        for campaign in self.store.hangup_requests().await? {
            let live = self.store.in_flight_of(&campaign).await?;
            if live.is_empty() {
                self.store.hangup_done(&campaign).await?;
                continue;
            }
            open = true;
            for job in live {
                let Some(sid) = self.store.load_job(&job).await?.and_then(|j| j.call_sid) else {
                    continue;
                };
                if hung_up.insert(sid.clone()) {
                    info!(job.id = %job.id, call.sid = %sid, "campaign cancelled; hanging up its call");
                    if let Err(e) = self.provider.hangup(&sid).await {
                        warn!(call.sid = %sid, error = %e, "could not hang up a cancelled campaign's call");
                        hung_up.remove(&sid);
                    }
                }
            }
        }
        Ok(open)
    }

    async fn reconcile(&self, id: &JobRef, attempt: u32) {
        let result = match self.store.load_job(id).await {
            Ok(Some(job)) if job.attempt == attempt => self.reconcile_job(&job).await,
            Ok(_) => Ok(None),
            Err(e) => Err(ReconcileError::from(e)),
        };
        match result {
            Ok(Some(r)) => self.metrics.reconciliation(r),
            Ok(None) => {}
            Err(e) => {
                self.metrics.reconciliation(ReconcileResult::Error);
                warn!(error = %e, "reconciliation failed; will retry");
            }
        }
    }

    async fn reconcile_job(&self, job: &Job) -> Result<Option<ReconcileResult>, ReconcileError> {
        let lookup = match (&job.state, &job.call_sid) {
            (JobState::Dialing, None) => self.find_our_call(job).await,
            (JobState::Dialing | JobState::InCall, Some(sid)) => {
                self.provider.fetch_call(sid).await
            }
            _ => return Ok(None),
        };
        match lookup {
            Ok(Some(call)) => self.apply(job, call).await.map(Some),
            Ok(None) if job.call_sid.is_none() => {
                // The attempt's citizen-cap unit (taken when it was
                // authorised, keyed by job and attempt) goes back with it.
                info!("the provider has no call for this dial; requeueing");
                let requeued = self
                    .store
                    .requeue(
                        &job.job_ref(),
                        job.attempt,
                        self.config.provider_backoff,
                        "dial never reached the provider",
                    )
                    .await?;
                if requeued == Transition::Applied {
                    self.store.citizen_refund(job).await?;
                }
                Ok(Some(ReconcileResult::Requeued))
            }
            Ok(None) => self
                .give_up(job, "the provider does not know this call")
                .await
                .map(Some),
            Err(e) if self.too_old(job).await => self.give_up(job, &e.to_string()).await.map(Some),
            Err(e) => {
                warn!(error = %e, "provider lookup failed");
                self.store
                    .extend_lease(&job.job_ref(), job.attempt, PROVIDER_RETRY)
                    .await?;
                Ok(Some(ReconcileResult::Error))
            }
        }
    }

    /// The newest call to this citizen from our caller id created after the
    /// dial began, that is not an earlier attempt's call. (The clock slack
    /// makes the window wide enough to hold the previous attempt's call when
    /// retries are close together, and a grant delayed by a Redis stall can
    /// leave the current attempt with no call at all: adopting the earlier
    /// call would spend an attempt on a call that was never placed.)
    async fn find_our_call(&self, job: &Job) -> Result<Option<CallInfo>, ProviderError> {
        let since = job.dial_started_at_ms.unwrap_or(job.updated_at_ms) - CLOCK_SLACK_MS;
        let calls = self
            .provider
            .find_calls(job.spec.dialled(), &job.spec.caller_id, since)
            .await?;
        Ok(calls
            .into_iter()
            .filter(|c| !job.past_call_sids.contains(&c.sid))
            .max_by_key(|c| c.created_ms.unwrap_or(0)))
    }

    async fn apply(&self, job: &Job, call: CallInfo) -> Result<ReconcileResult, ReconcileError> {
        let job_ref = job.job_ref();
        self.calls
            .on_status(&job_ref, job.attempt, &call.sid, call.status)
            .await?;
        if call.status.is_terminal() {
            return Ok(ReconcileResult::Finished);
        }
        self.store
            .extend_lease(&job_ref, job.attempt, self.config.max_call)
            .await?;
        Ok(ReconcileResult::Adopted)
    }

    async fn too_old(&self, job: &Job) -> bool {
        let Ok(now) = self.store.now_ms().await else {
            return false;
        };
        let started = job.dial_started_at_ms.unwrap_or(job.updated_at_ms);
        now - started > i64::try_from(self.config.reconcile_give_up.as_millis()).unwrap_or(i64::MAX)
    }

    async fn give_up(&self, job: &Job, why: &str) -> Result<ReconcileResult, ReconcileError> {
        warn!(
            reason = why,
            "call outcome cannot be established; marking unknown"
        );
        let finish = Finish::Terminal {
            outcome: Outcome::Unknown,
            reason: Some(why.to_owned()),
        };
        self.store
            .finish(&job.job_ref(), job.attempt, None, &finish)
            .await?;
        self.metrics.outcome(Outcome::Unknown);
        Ok(ReconcileResult::Unknown)
    }
}
