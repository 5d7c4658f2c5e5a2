//! The scorer: counts the feedback stream into the scorecards, exactly once.
//!
//! The scorecards remember the last feedback entry they counted (the
//! cursor). A pass reads the entries after it, turns them into increments
//! (`domain::scorecard`) and applies them with the cursor's move in one
//! step that only succeeds if the cursor has not moved meanwhile. So an
//! entry is counted once whichever instance counts it, however many count
//! at once, and whenever one dies: a batch is counted whole or not at all.
//! Every instance runs a scorer; the losers of a race re-read and go on.
//!
//! A record is on the stream once (the relay's dedupe, see
//! `store/redis/results.rs`), so it is counted once. Rebuilding
//! (`sampark report rebuild`) forgets the scorecards and sets the cursor
//! back in one step; the scorers then count the whole stream again, so the
//! rebuilt scorecards are what the live ones were, over the entries the
//! stream still holds.

use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::domain::scorecard::updates_of;
use crate::domain::{FeedbackRecord, ScoringRules};
use crate::store::{Store, StoreError};
use crate::telemetry::{Metrics, Subsystem, events};

/// Entries per counted batch.
pub const BATCH: usize = 500;
/// The shortest sweep period, whatever `dialer.poll_interval_ms` says.
pub const MIN_SWEEP: Duration = Duration::from_millis(250);
/// The pause before counting again after the store failed.
const RETRY: Duration = Duration::from_secs(1);

/// What the scorer needs besides the store.
#[derive(Clone, Debug)]
pub struct ScoringContext {
    pub rules: Arc<ScoringRules>,
    /// The programme's time zone: a record counts for the day its call
    /// ended there.
    pub zone: TimeZone,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counted {
    /// Records counted by this pass.
    pub records: usize,
    /// Entries stepped over because they are not records.
    pub skipped: usize,
}

/// Counts every entry after the cursor, batch by batch, until none is
/// left. `counted` is called with each batch this instance counted.
pub async fn score_pending(
    store: &dyn Store,
    cx: &ScoringContext,
    instance: &str,
    mut counted: impl FnMut(&[FeedbackRecord]),
) -> Result<Counted, StoreError> {
    let mut total = Counted::default();
    loop {
        let cursor = store.score_cursor().await?;
        let entries = store.scan_feedback(&cursor, BATCH).await?;
        let Some((last, _)) = entries.last() else {
            return Ok(total);
        };
        let next = last.clone();
        let mut records = Vec::with_capacity(entries.len());
        let mut skipped = 0;
        for (id, entry) in entries {
            match entry {
                Ok(record) => records.push(record),
                Err(problem) => {
                    warn!(entry.id = %id, problem = %problem, "feedback entry is not a record; not counted in the scorecards");
                    skipped += 1;
                }
            }
        }
        let updates = updates_of(&records, &cx.rules, &cx.zone);
        crate::failpoint::hit(crate::failpoint::points::BEFORE_SCORE, instance).await;
        if store.apply_scores(&cursor, &next, &updates).await? {
            counted(&records);
            total.records += records.len();
            total.skipped += skipped;
        }
        // Otherwise another instance counted this batch first: read again.
    }
}

/// Forgets the scorecards and counts the whole feedback stream again.
pub async fn rebuild(
    store: &dyn Store,
    cx: &ScoringContext,
    instance: &str,
) -> Result<Counted, StoreError> {
    store.reset_scores().await?;
    score_pending(store, cx, instance, |_| {}).await
}

/// Keeps the scorecards up to date until cancelled: counts at once when
/// this instance's relay moved records (`relayed`), and otherwise looks at
/// the stream each `sweep_every` (`dialer.poll_interval_ms`, at least
/// [`MIN_SWEEP`]) for records other instances relayed and did not count
/// (they count their own as this one does; a sweep finds what one that
/// died left).
pub struct Scorer {
    pub store: Arc<dyn Store>,
    pub cx: ScoringContext,
    pub metrics: Arc<Metrics>,
    /// This instance's name (failpoints).
    pub instance: String,
    pub sweep_every: Duration,
    /// Notified by this instance's relay after it moved records.
    pub relayed: Arc<Notify>,
}

impl Scorer {
    pub async fn run(self, cancel: CancellationToken) {
        let sweep_every = self.sweep_every.max(MIN_SWEEP);
        while !cancel.is_cancelled() {
            let pass = score_pending(self.store.as_ref(), &self.cx, &self.instance, |records| {
                for record in records {
                    let severity = self.cx.rules.escalating(record).map(|(_, s)| s);
                    self.metrics.record_scored(record, severity);
                }
            })
            .await;
            let wait = match pass {
                Ok(_) => sweep_every,
                Err(e) => {
                    events::store_error(
                        &self.metrics,
                        Subsystem::Scorer,
                        &e,
                        "counting scorecards",
                    );
                    sweep_every.min(RETRY)
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = self.relayed.notified() => {}
            }
        }
        info!("scorer stopped");
    }
}
