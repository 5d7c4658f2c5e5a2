//! The dispatch loop: due work → ready entries → policy → authorise (GCRA
//! in the store) → originate → record. One per daemon instance; many
//! instances share the work through the ready streams' consumer group. The
//! loop is event-driven (`plan.rs`): it sleeps until the earliest time a
//! shard has work due, or until this instance's own transitions signal work.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::{Quota as GovQuota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, error, info, info_span, warn};

use super::plan::Plan;
use super::windows::{CACHED_CAMPAIGNS, CampaignWindows};
use super::{DialerConfig, PlacedCalls};
use crate::calls::{CallbackUrls, LiveCalls};
use crate::domain::Outcome;
use crate::failpoint::{self, points};
use crate::provider::{ErrorClass, OriginateRequest, Provider, ProviderError};
use crate::store::{
    Authorize, DialLimits, Finish, Job, Limit, Promoted, Quota, ReadyEntry, ShardId, Store,
    StoreError, Transition,
};
use crate::telemetry::{DialDecision, Metrics, OriginateResult, Subsystem, events};

/// How long to leave an originate with an unknown fate before reconciling it:
/// long enough for a call the provider did create to show up in its list.
const UNKNOWN_SETTLE: Duration = Duration::from_secs(5);

/// How long a job held by the fleet's live-call cap waits before it is
/// looked at again (the cap frees with no event this instance hears of).
const LIVE_RECHECK: Duration = Duration::from_millis(250);

/// How soon a held loop (dialer/gate.rs) looks at the gate again, at most.
const HELD_RECHECK: Duration = Duration::from_secs(1);

/// What a round did.
enum Round {
    Ran,
    /// The fleet-wide gate held it: nothing read.
    Held,
}

/// How many ready entries a round authorises at once.
const AUTHORIZE_PIPELINE: usize = 32;

/// The pause after a failed round before the loop looks over every shard again.
const ERROR_PAUSE: Duration = Duration::from_millis(500);

/// `governor`'s clock on tokio's time, so pacing follows a paused clock in
/// tests as the rest of the loop does.
#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

impl governor::clock::Clock for TokioClock {
    type Instant = std::time::Instant;

    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type CpsLimiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    TokioClock,
    governor::middleware::NoOpMiddleware<std::time::Instant>,
>;

/// Waits for this instance's share of the provider's rate; `false` if
/// cancelled first.
async fn pace(cps: &CpsLimiter, cancel: &CancellationToken) -> bool {
    use governor::clock::Clock;
    loop {
        match cps.check() {
            Ok(()) => return true,
            Err(not_until) => {
                let wait = not_until.wait_time_from(TokioClock.now());
                tokio::select! {
                    _ = cancel.cancelled() => return false,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
}

/// The dispatch loop of one instance.
#[derive(Clone)]
pub struct Dialer {
    store: Arc<dyn Store>,
    provider: Arc<dyn Provider>,
    config: Arc<DialerConfig>,
    urls: CallbackUrls,
    metrics: Arc<Metrics>,
    originates: Arc<Semaphore>,
    cps: Option<Arc<CpsLimiter>>,
    /// The provider's cap as a fleet-wide quota (burst = one second's worth).
    fleet_cps: Option<Quota>,
    placed: Arc<PlacedCalls>,
    /// Fleet-wide pause (dialer/gate.rs): open unless `with_gate` says otherwise.
    gate: super::DialGate,
    /// Each campaign's calling window, else the daemon's (dialer/windows.rs).
    windows: Arc<CampaignWindows>,
    /// Where a placed call's job is left for its webhooks (calls/live.rs).
    live: Option<Arc<LiveCalls>>,
}

impl Dialer {
    pub fn new(
        store: Arc<dyn Store>,
        provider: Arc<dyn Provider>,
        config: DialerConfig,
        urls: CallbackUrls,
        metrics: Arc<Metrics>,
        placed: Arc<PlacedCalls>,
    ) -> Self {
        let cps = config.provider_cps.and_then(NonZeroU32::new).map(|n| {
            Arc::new(RateLimiter::direct_with_clock(
                GovQuota::per_second(n),
                TokioClock,
            ))
        });
        let fleet_cps = config.provider_cps.filter(|&n| n > 0).map(|n| Quota {
            burst: n,
            period: Duration::from_secs(1) / n,
        });
        Self {
            windows: Arc::new(CampaignWindows::new(config.hours.clone(), CACHED_CAMPAIGNS)),
            fleet_cps,
            originates: Arc::new(Semaphore::new(config.max_concurrent_originates.max(1))),
            store,
            provider,
            config: Arc::new(config),
            urls,
            metrics,
            cps,
            placed,
            gate: super::DialGate::new(),
            live: None,
        }
    }

    /// Dials only while `gate` is open (dialer/gate.rs).
    pub fn with_gate(mut self, gate: super::DialGate) -> Self {
        self.gate = gate;
        self
    }

    /// Leaves each placed call's job in `live`, so the call's first
    /// webhook on this instance needs no read of the job.
    pub fn with_live_calls(mut self, live: Arc<LiveCalls>) -> Self {
        self.live = Some(live);
        self
    }

    /// Runs until `cancel`; then waits for originates already started to
    /// finish recording. Entries read but not started stay pending in the
    /// ready stream and are taken over after `reclaim_after`.
    pub async fn run(self, cancel: CancellationToken) {
        let calls = TaskTracker::new();
        let signal = self.store.work_signal();
        let new_plan = |now| Plan::new(self.store.shards(), self.config.poll_interval, now);
        let mut plan = new_plan(tokio::time::Instant::now());
        while !cancel.is_cancelled() {
            let wake_at = match self.round(&mut plan, &cancel, &calls).await {
                Ok(Round::Ran) => plan.wake_at(tokio::time::Instant::now()),
                // Nothing tells the loop when a hold lifts: look again soon.
                Ok(Round::Held) => {
                    tokio::time::Instant::now() + self.config.poll_interval.min(HELD_RECHECK)
                }
                Err(e) => {
                    events::store_error(
                        &self.metrics,
                        Subsystem::Dialer,
                        &e,
                        "dispatching ready jobs",
                    );
                    // Look over everything again after a pause.
                    let retry_at = tokio::time::Instant::now() + ERROR_PAUSE;
                    plan = new_plan(retry_at);
                    retry_at
                }
            };
            if wake_at > tokio::time::Instant::now() {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep_until(wake_at) => {}
                    _ = signal.notified() => {}
                }
            }
            for (shard, at) in signal.take() {
                plan.due_at(shard, at);
            }
        }
        calls.close();
        calls.wait().await;
        info!("dialer stopped");
    }

    /// One round: promote the shards whose work is due, read the shards
    /// that hold ready entries, decide each entry.
    async fn round(
        &self,
        plan: &mut Plan,
        cancel: &CancellationToken,
        calls: &TaskTracker,
    ) -> Result<Round, StoreError> {
        // Fleet-wide pause (dialer/gate.rs): read and authorise nothing.
        if self.gate.holds_round() {
            return Ok(Round::Held);
        }
        let now = tokio::time::Instant::now();
        let due = plan.due_shards(now);
        let found = futures_util::future::try_join_all(
            due.iter()
                .map(|&shard| self.store.promote(shard, self.config.batch_size)),
        )
        .await?;
        for (&shard, found) in due.iter().zip(&found) {
            plan.promoted(shard, found, now);
        }
        let shards = plan.ready_shards();
        if shards.is_empty() {
            return Ok(Round::Ran);
        }
        let entries = self
            .store
            .read_ready_from(
                &shards,
                &self.config.consumer,
                self.config.batch_size,
                self.config.reclaim_after,
            )
            .await?;
        let mut decided = Vec::new();
        for &shard in &shards {
            let got = entries.iter().filter(|e| e.shard == shard).count();
            plan.read(shard, got, self.config.batch_size);
            if got > 0 {
                decided.push(shard);
            }
        }
        if entries.is_empty() {
            return Ok(Round::Ran);
        }
        // Deciding moves a shard's work (officials rescheduled, jobs
        // delayed): what the last decision of each shard left it holding,
        // when the store said; `None`, or no word, and it is looked at again.
        let mut looked: HashMap<ShardId, Option<Promoted>> = HashMap::new();
        let result = self.decide(entries, cancel, calls, &mut looked).await;
        for shard in decided {
            match looked.get(&shard) {
                Some(Some(after)) => plan.promoted(shard, after, now),
                _ => plan.due_at(shard, now),
            }
        }
        result.map(|()| Round::Ran)
    }

    /// Decides each entry read, in order, noting in `looked` what each
    /// shard holds after its last decision. Entries are authorised
    /// `AUTHORIZE_PIPELINE` at a time: their scripts go to the store
    /// together (one connection keeps their order), so a round's rate is
    /// not one store round trip per dial.
    async fn decide(
        &self,
        entries: Vec<ReadyEntry>,
        cancel: &CancellationToken,
        calls: &TaskTracker,
        looked: &mut HashMap<ShardId, Option<Promoted>>,
    ) -> Result<(), StoreError> {
        let now_ms = self.store.now_ms().await?;
        let mut group: Vec<(ReadyEntry, OwnedSemaphorePermit)> = Vec::new();
        for entry in entries {
            if cancel.is_cancelled() {
                break;
            }
            // The campaign's window (else the daemon's) at the round's time:
            // a closed window parks the entry until its exact next opening
            // without spending a grant.
            let window = self
                .windows
                .for_campaign(self.store.as_ref(), &entry.job.campaign)
                .await?;
            if let Some(open_at) = window.next_open(now_ms) {
                // The entries before it are decided first, so `looked`
                // keeps each shard's decisions in order.
                self.authorize_group(std::mem::take(&mut group), cancel, calls, looked)
                    .await?;
                looked.insert(entry.shard, None);
                self.store
                    .defer(&entry, open_at, "outside calling hours")
                    .await?;
                self.metrics.dial_decision(DialDecision::OutsideHours);
                continue;
            }
            // Before waiting for a free originate or for this instance's
            // share of the provider's rate (no Redis work; the fleet-wide
            // count is part of the authorising step), the entries in hand
            // are authorised: none waits on a later one.
            let permit = match self.originates.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(TryAcquireError::Closed) => break,
                Err(TryAcquireError::NoPermits) => {
                    self.authorize_group(std::mem::take(&mut group), cancel, calls, looked)
                        .await?;
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        p = self.originates.clone().acquire_owned() => match p {
                            Ok(p) => p,
                            Err(_) => break,
                        },
                    }
                }
            };
            if let Some(cps) = &self.cps
                && cps.check().is_err()
            {
                self.authorize_group(std::mem::take(&mut group), cancel, calls, looked)
                    .await?;
                if !pace(cps, cancel).await {
                    break;
                }
            }
            group.push((entry, permit));
            if group.len() >= AUTHORIZE_PIPELINE {
                self.authorize_group(std::mem::take(&mut group), cancel, calls, looked)
                    .await?;
            }
        }
        if cancel.is_cancelled() {
            // Not authorised: the entries stay pending for `reclaim_after`.
            return Ok(());
        }
        self.authorize_group(group, cancel, calls, looked).await
    }

    /// Authorises `group` together and places each granted call, taking
    /// the verdicts in the entries' order.
    async fn authorize_group(
        &self,
        group: Vec<(ReadyEntry, OwnedSemaphorePermit)>,
        cancel: &CancellationToken,
        calls: &TaskTracker,
        looked: &mut HashMap<ShardId, Option<Promoted>>,
    ) -> Result<(), StoreError> {
        if group.is_empty() {
            return Ok(());
        }
        let verdicts = futures_util::future::join_all(
            group.iter().map(|(entry, _)| self.authorize(entry, cancel)),
        )
        .await;
        // Every verdict is taken before an error is returned: a grant
        // already made must not be left unplaced (its lease would end in a
        // reconciliation instead of a call).
        let mut failed = None;
        for ((entry, permit), verdict) in group.into_iter().zip(verdicts) {
            let (granted, after) = match verdict {
                Ok(verdict) => verdict,
                Err(e) => {
                    failed.get_or_insert(e);
                    continue;
                }
            };
            looked.insert(entry.shard, after);
            let Some((job, now_ms, asked)) = granted else {
                continue;
            };
            // The window is checked again at the grant's own time (after any
            // wait for the provider's rate), against the window the job
            // carries: a long round must not start a dial after closing time.
            if let Some(open_at) = self.windows.for_job(&job.spec).next_open(now_ms) {
                looked.insert(entry.shard, None);
                if let Err(e) = self.give_back(&job, open_at - now_ms).await {
                    failed.get_or_insert(e);
                }
                continue;
            }
            let this = self.clone();
            let span = info_span!("job", job.id = %job.id, official.id = %entry.official, attempt = job.attempt);
            calls.spawn(async move { this.place_call(job, asked, permit).await }.instrument(span));
        }
        failed.map_or(Ok(()), Err)
    }

    /// A grant made after the window closed: the citizen's cap unit back,
    /// the attempt requeued for the opening `wait_ms` from now. On a store
    /// error the job keeps its lease and the reconciler requeues it.
    async fn give_back(&self, job: &Job, wait_ms: i64) -> Result<(), StoreError> {
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
        self.store.citizen_refund(job).await?;
        self.store
            .requeue(&job.job_ref(), job.attempt, wait, "outside calling hours")
            .await?;
        self.metrics.dial_decision(DialDecision::OutsideHours);
        Ok(())
    }

    /// Every limit a dial of `entry` must pass.
    fn limits(&self, entry: &ReadyEntry) -> DialLimits {
        DialLimits {
            official: self.config.quotas.for_official(&entry.official),
            department: entry
                .department
                .as_deref()
                .and_then(|d| self.config.quotas.for_department(d)),
            citizen: self.config.citizen_caps,
            max_live_calls: self.config.max_live_calls,
            provider: self.fleet_cps,
            live_recheck: LIVE_RECHECK,
        }
    }

    /// Asks the store to decide `entry` (waiting out the provider's
    /// fleet-wide rate, which leaves the entry in hand): the granted job, the
    /// store's time of the grant, and when the grant was asked for; and what
    /// the decision left the entry's shard holding, if the store said.
    async fn authorize(
        &self,
        entry: &ReadyEntry,
        cancel: &CancellationToken,
    ) -> Result<(Option<(Job, i64, Instant)>, Option<Promoted>), StoreError> {
        let limits = self.limits(entry);
        loop {
            let asked = Instant::now();
            let (verdict, after) = self
                .store
                .authorize_and_look(entry, &limits, self.config.originate_lease)
                .await?;
            let decision = match verdict {
                Authorize::Granted { job, now_ms } => {
                    self.metrics.dial_decision(DialDecision::Authorized);
                    return Ok((Some((*job, now_ms, asked)), after));
                }
                Authorize::ProviderBusy { wait } => {
                    self.metrics.dial_decision(DialDecision::ProviderBusy);
                    tokio::select! {
                        // The entry stays pending; another round (or
                        // instance, after `reclaim_after`) takes it.
                        _ = cancel.cancelled() => return Ok((None, None)),
                        _ = tokio::time::sleep(wait) => continue,
                    }
                }
                Authorize::Deferred { until_ms, limit } => {
                    debug!(job.id = %entry.job, official.id = %entry.official, until_ms, limit = limit.reason(), "held by a limit; deferred");
                    match limit {
                        Limit::Official => DialDecision::RateLimited,
                        Limit::Department => DialDecision::DepartmentQuota,
                        Limit::Citizen => DialDecision::CitizenCap,
                        Limit::LiveCalls => DialDecision::LiveCallCap,
                        Limit::NotBefore => DialDecision::TooSoon,
                    }
                }
                Authorize::Stale => return Ok((None, after)),
                Authorize::Parked => DialDecision::CampaignPaused,
                Authorize::Cancelled => {
                    self.metrics.outcome(Outcome::Cancelled);
                    DialDecision::CampaignCancelled
                }
                Authorize::Expired => {
                    self.metrics.outcome(Outcome::Expired);
                    DialDecision::Expired
                }
                Authorize::OptedOut => {
                    self.metrics.outcome(Outcome::OptedOut);
                    DialDecision::OptedOut
                }
            };
            self.metrics.dial_decision(decision);
            return Ok((None, after));
        }
    }

    /// Originates and records. Store failures leave the job
    /// `Dialing` with its lease, so the reconciler finishes the work.
    async fn place_call(self, job: Job, asked: Instant, permit: OwnedSemaphorePermit) {
        if let Err(e) = self.try_place_call(&job, asked).await {
            // The job keeps its lease, so the reconciler resolves it.
            events::store_error(
                &self.metrics,
                Subsystem::Dialer,
                &e,
                "recording a dial result",
            );
        }
        drop(permit);
    }

    /// `asked` is when the grant was asked for (this process's clock).
    async fn try_place_call(&self, job: &Job, asked: Instant) -> Result<(), StoreError> {
        let phone = job.spec.dialled();
        // Intake checked the plan too; this catches a number any program
        // wrote to Redis, and one the plan refuses since. Both legs: the
        // number rung, and the citizen an official's call bridges to.
        let plan = &self.config.number_plan;
        if let Err(why) = plan.check(phone).and(plan.check(&job.spec.contact.phone)) {
            return self.refuse_number(job, &why).await;
        }
        failpoint::hit(points::BEFORE_ORIGINATE, &self.config.consumer).await;
        // The lease started no earlier than `asked` (the store ran the grant
        // after it was sent). Past this budget an originate could still be in
        // flight when the lease ends and the reconciler, finding no call,
        // requeues the attempt: a frozen or starved instance gives the dial
        // back instead of placing a call nobody would record.
        let budget = self
            .config
            .originate_lease
            .saturating_sub(self.config.originate_timeout);
        if asked.elapsed() >= budget {
            let waited_ms = u64::try_from(asked.elapsed().as_millis()).unwrap_or(u64::MAX);
            warn!(
                waited_ms,
                "authorised too long ago to dial safely; giving the dial back"
            );
            self.metrics.originate(OriginateResult::Late);
            self.store.citizen_refund(job).await?;
            self.store
                .requeue(
                    &job.job_ref(),
                    job.attempt,
                    Duration::ZERO,
                    "authorised too long ago to dial safely",
                )
                .await?;
            return Ok(());
        }
        let request = OriginateRequest {
            to: phone.clone(),
            from: job.spec.caller_id.clone(),
            answer_url: self.urls.answer(&job.job_ref(), job.attempt),
            status_url: self.urls.status(&job.job_ref(), job.attempt),
            ring_timeout: self.config.ring_timeout,
            machine_detection: job.spec.machine_detection,
        };
        // Before the originate: the answer webhook may come before its reply.
        if let Some(live) = &self.live {
            live.placed(job);
        }
        match self.provider.originate(&request).await {
            Ok(call) => {
                self.metrics.originate(OriginateResult::Ok);
                info!(call.sid = %call.sid, to = %phone, "call placed");
                failpoint::hit(points::AFTER_ORIGINATE, &self.config.consumer).await;
                self.placed.insert(job.job_ref(), job.attempt);
                let recorded = self
                    .store
                    .mark_originated(&job.job_ref(), job.attempt, &call.sid, self.config.max_call)
                    .await?;
                match recorded {
                    Transition::Stale => self.drop_orphan(job, &call.sid).await?,
                    Transition::Applied => {
                        if let Some(live) = &self.live {
                            live.originated(&job.job_ref(), job.attempt, &call.sid);
                        }
                    }
                }
            }
            Err(e) => {
                if let Some(live) = &self.live {
                    live.forget(&job.job_ref());
                }
                // A call that was certainly not placed gives the citizen's
                // cap unit back; an unknown fate keeps it until reconciled.
                if e.class() != ErrorClass::Reconcile {
                    self.store.citizen_refund(job).await?;
                }
                self.originate_failed(job, e).await?
            }
        }
        Ok(())
    }

    /// The attempt moved on while the originate was in flight (e.g. it was
    /// reconciled as never placed). Unless a status callback already tied this
    /// call to the job, nobody owns it: hang it up rather than let the citizen
    /// hear a call that goes nowhere.
    async fn drop_orphan(&self, job: &Job, sid: &str) -> Result<(), StoreError> {
        let current = self.store.load_job(&job.job_ref()).await?;
        if current.is_some_and(|j| j.call_sid.as_deref() == Some(sid)) {
            return Ok(());
        }
        warn!(call.sid = %sid, "call placed for an attempt that already moved on; hanging it up");
        if let Err(e) = self.provider.hangup(sid).await {
            warn!(call.sid = %sid, error = %e, "could not hang up the orphaned call");
        }
        Ok(())
    }

    /// Ends a job whose number the number plan refuses, never dialled: the
    /// citizen's cap unit given back.
    async fn refuse_number(&self, job: &Job, why: &str) -> Result<(), StoreError> {
        warn!(
            reason = why,
            "number outside policy.number_plan; not dialled"
        );
        self.metrics.originate(OriginateResult::Rejected);
        self.store.citizen_refund(job).await?;
        let finish = Finish::Terminal {
            outcome: Outcome::Failed,
            reason: Some(format!("not dialled: {why}")),
        };
        self.store
            .finish(&job.job_ref(), job.attempt, None, &finish)
            .await?;
        self.metrics.outcome(Outcome::Failed);
        Ok(())
    }

    async fn originate_failed(
        &self,
        job: &Job,
        e: crate::provider::ProviderError,
    ) -> Result<(), StoreError> {
        match e.class() {
            ErrorClass::Never => {
                self.metrics.originate(OriginateResult::Rejected);
                warn!(error = %e, "provider refused the call");
                let finish = Finish::Terminal {
                    outcome: Outcome::Failed,
                    reason: Some(e.to_string()),
                };
                self.store
                    .finish(&job.job_ref(), job.attempt, None, &finish)
                    .await?;
                self.metrics.outcome(Outcome::Failed);
            }
            ErrorClass::Later(after) => {
                let result = match e {
                    ProviderError::Throttled { .. } => OriginateResult::Throttled,
                    ProviderError::Unauthorized { .. } => {
                        error!(error = %e, "the provider refused our credentials; an operator must fix provider.account_sid / auth_token");
                        OriginateResult::Rejected
                    }
                    _ => OriginateResult::Transient,
                };
                self.metrics.originate(result);
                let delay = after.unwrap_or(self.config.provider_backoff);
                let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                debug!(error = %e, delay_ms, "call not placed; requeued");
                self.store
                    .requeue(&job.job_ref(), job.attempt, delay, &e.to_string())
                    .await?;
            }
            ErrorClass::Reconcile => {
                self.metrics.originate(OriginateResult::Unknown);
                warn!(error = %e, "originate outcome unknown; will reconcile with the provider");
                self.placed.insert(job.job_ref(), job.attempt);
                self.store
                    .extend_lease(&job.job_ref(), job.attempt, UNKNOWN_SETTLE)
                    .await?;
            }
        }
        Ok(())
    }
}
