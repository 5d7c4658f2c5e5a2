//! The campaign log: one INFO line when a campaign changes state, and one an
//! hour with the progress of every campaign not yet finished, so an
//! operator reading the daemon's log sees each campaign's story without
//! asking for it. One task per daemon, on the back token.
//!
//! Every [`CHECK_EVERY`] it reads the campaigns' states and counts from the
//! store — whoever changed them: the admin API, `sampark campaign`, a
//! command on the intake stream, the calls themselves — and compares them
//! with what it saw last:
//!
//! | seen before → now | line |
//! |---|---|
//! | not seen (after the first pass) | `accepted` (then the state's own line if it is not active, and `finished` if it is) |
//! | active → paused | `paused` |
//! | paused → active | `resumed` |
//! | not cancelled → cancelled, or a hang-up added | `cancelled` |
//! | some contact unfinished → every contact finished | `finished` |
//! | finished → some contact unfinished (new contacts) | `reopened` |
//!
//! Campaigns already there at the first pass are not "accepted" again on a
//! restart; instead every unfinished one gets a progress line then, and
//! every [`PROGRESS_EVERY`] after. A finished campaign is read again only
//! at those times (to notice new contacts), so old campaigns cost nothing
//! per check. Every instance of a fleet logs what it sees; the lines carry
//! the instance's name.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::domain::CampaignId;
use crate::store::{CampaignState, CampaignStatus, Store, StoreError};
use crate::telemetry::events::{self, CampaignChange};

/// How often campaign states are read: a state change is logged within
/// about this long.
pub const CHECK_EVERY: Duration = Duration::from_secs(5);
/// How often each unfinished campaign's progress is logged.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(3_600);

/// What the log compares between two reads of a campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    pub state: CampaignState,
    /// Every contact has an outcome (and there is at least one).
    pub finished: bool,
}

impl Seen {
    fn of(status: &CampaignStatus) -> Seen {
        let total = status.total();
        Seen {
            state: status.state,
            finished: total > 0 && status.finished() == total,
        }
    }
}

/// The lines owed for a campaign last seen as `before` and now `now`.
pub(super) fn changes(before: Option<Seen>, now: Seen) -> Vec<CampaignChange> {
    let mut out = Vec::new();
    let before = match before {
        Some(before) => before,
        None => {
            out.push(CampaignChange::Accepted);
            Seen {
                state: CampaignState::Active,
                finished: false,
            }
        }
    };
    match (before.state, now.state) {
        (a, b) if a == b => {}
        (_, CampaignState::Cancelled { .. }) => out.push(CampaignChange::Cancelled),
        (CampaignState::Active, CampaignState::Paused) => out.push(CampaignChange::Paused),
        (CampaignState::Paused, CampaignState::Active) => out.push(CampaignChange::Resumed),
        // A cancelled campaign never becomes active or paused again; if a
        // store ever says so, say it plainly.
        (CampaignState::Cancelled { .. }, CampaignState::Active) => {
            out.push(CampaignChange::Resumed);
        }
        (CampaignState::Cancelled { .. }, CampaignState::Paused) => {
            out.push(CampaignChange::Paused);
        }
        _ => {}
    }
    match (before.finished, now.finished) {
        (false, true) => out.push(CampaignChange::Finished),
        (true, false) => out.push(CampaignChange::Reopened),
        _ => {}
    }
    out
}

/// The task; see the module docs.
pub struct CampaignLog {
    pub store: Arc<dyn Store>,
    /// This instance's name, on every line.
    pub instance: String,
    pub check_every: Duration,
    pub progress_every: Duration,
}

/// What the log has seen so far.
#[derive(Default)]
pub(super) struct Memory {
    campaigns: HashMap<CampaignId, Seen>,
    /// The first pass is done: campaigns new after it are "accepted".
    primed: bool,
}

impl CampaignLog {
    pub async fn run(self, cancel: CancellationToken) {
        let mut memory = Memory::default();
        let mut progress_at = Instant::now();
        let mut reachable = true;
        while !cancel.is_cancelled() {
            let progress_due = Instant::now() >= progress_at;
            match self.pass(&mut memory, progress_due).await {
                Ok(()) => {
                    reachable = true;
                    if progress_due {
                        progress_at = Instant::now() + self.progress_every;
                    }
                }
                // Other tasks report the store's trouble (and count it);
                // this one says once that its lines will be late.
                Err(e) => {
                    if std::mem::replace(&mut reachable, false) {
                        warn!(error = %e, "Cannot read campaign states; campaign log lines wait until the store answers.");
                    }
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.check_every) => {}
            }
        }
        info!("campaign log stopped");
    }

    /// One read of every campaign that needs it, logging what changed (and,
    /// when `progress_due`, every unfinished campaign's progress).
    pub(super) async fn pass(
        &self,
        memory: &mut Memory,
        progress_due: bool,
    ) -> Result<(), StoreError> {
        for id in self.store.campaigns().await? {
            let before = memory.campaigns.get(&id).copied();
            if before.is_some_and(|seen| seen.finished) && !progress_due {
                continue;
            }
            let Some(status) = self.store.campaign_status(&id).await? else {
                continue;
            };
            let now = Seen::of(&status);
            if memory.primed || before.is_some() {
                for change in changes(before, now) {
                    events::campaign_changed(change, &status, &self.instance);
                }
            }
            if progress_due && !now.finished && status.total() > 0 {
                events::campaign_progress(&status, &self.instance);
            }
            memory.campaigns.insert(id, now);
        }
        memory.primed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignChange as C;
    use CampaignState as S;

    fn seen(state: S, finished: bool) -> Seen {
        Seen { state, finished }
    }

    use std::sync::Mutex;

    use serde_json::{Value, json};

    use crate::domain::{JobSpec, parse_campaign_document};
    use crate::store::memory::MemoryStore;
    use crate::store::{CampaignAction, DialLimits, Quota};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        /// `(campaign.event, campaign.id)` of every line logged since last asked.
        fn take(&self) -> Vec<(String, String)> {
            let bytes = std::mem::take(&mut *self.0.lock().unwrap());
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|v| v["campaign.event"].is_string())
                .map(|v| {
                    assert_eq!(v["level"], "INFO", "{v}");
                    assert_eq!(v["instance"], "test-1", "{v}");
                    let field = |k: &str| v[k].as_str().unwrap().to_owned();
                    (field("campaign.event"), field("campaign.id"))
                })
                .collect()
        }
    }

    async fn add(store: &dyn Store, id: &str, contacts: usize) -> CampaignId {
        let contacts: Vec<Value> = (0..contacts)
            .map(|i| {
                json!({"id": format!("c{i}"), "phone": format!("+91987650{i:04}"),
                "official_id": format!("off-{id}-{i}"), "office": "Office", "service": "Service"})
            })
            .collect();
        let doc = json!({"version": 1, "id": id, "name": "Test", "dialplan": "plan",
            "caller_id": "+916742000000", "department": "home", "contacts": contacts});
        let parsed = parse_campaign_document(&doc.to_string(), &|_| true).unwrap();
        store.put_campaign(&parsed.header).await.unwrap();
        for contact in parsed.contacts {
            store
                .enqueue(&JobSpec::new(&parsed.header, contact))
                .await
                .unwrap();
        }
        parsed.header.id
    }

    #[tokio::test]
    async fn a_campaigns_life_in_the_log() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(2));
        let log = CampaignLog {
            store: store.clone(),
            instance: "test-1".into(),
            check_every: CHECK_EVERY,
            progress_every: PROGRESS_EVERY,
        };
        let mut memory = Memory::default();
        let s = |e: &str, id: &str| (e.to_owned(), id.to_owned());

        // There before the daemon: its progress, not "accepted".
        add(store.as_ref(), "old", 2).await;
        log.pass(&mut memory, true).await.unwrap();
        assert_eq!(lines.take(), [s("progress", "old")]);

        let new = add(store.as_ref(), "new", 3).await;
        log.pass(&mut memory, false).await.unwrap();
        assert_eq!(lines.take(), [s("accepted", "new")]);
        log.pass(&mut memory, false).await.unwrap();
        assert_eq!(lines.take(), []);

        for (action, event) in [
            (CampaignAction::Pause, "paused"),
            (CampaignAction::Resume, "resumed"),
        ] {
            store.control_campaign(&new, action).await.unwrap();
            log.pass(&mut memory, false).await.unwrap();
            assert_eq!(lines.take(), [s(event, "new")]);
        }

        log.pass(&mut memory, true).await.unwrap();
        let mut hourly = lines.take();
        hourly.sort();
        assert_eq!(hourly, [s("progress", "new"), s("progress", "old")]);

        let cancel = CampaignAction::Cancel { hangup: false };
        store.control_campaign(&new, cancel).await.unwrap();
        log.pass(&mut memory, false).await.unwrap();
        assert_eq!(lines.take(), [s("cancelled", "new")]);
        // Its contacts end as the dialer reads them.
        let limits = DialLimits::official(Quota {
            burst: 5,
            period: Duration::from_secs(1),
        });
        for entry in store.read_ready("t", 100, PROGRESS_EVERY).await.unwrap() {
            store
                .authorize(&entry, &limits, Duration::from_secs(60))
                .await
                .unwrap();
        }
        log.pass(&mut memory, false).await.unwrap();
        assert_eq!(lines.take(), [s("finished", "new")]);

        // Finished: no more lines for it, hourly or not.
        log.pass(&mut memory, true).await.unwrap();
        assert_eq!(lines.take(), [s("progress", "old")]);
    }

    #[test]
    fn every_change_is_one_line() {
        let active = seen(S::Active, false);
        let cases = [
            (None, active, vec![C::Accepted]),
            (None, seen(S::Paused, false), vec![C::Accepted, C::Paused]),
            (None, seen(S::Active, true), vec![C::Accepted, C::Finished]),
            (
                None,
                seen(S::Cancelled { hangup: false }, true),
                vec![C::Accepted, C::Cancelled, C::Finished],
            ),
            (Some(active), active, vec![]),
            (Some(active), seen(S::Paused, false), vec![C::Paused]),
            (Some(seen(S::Paused, false)), active, vec![C::Resumed]),
            (
                Some(seen(S::Paused, false)),
                seen(S::Cancelled { hangup: true }, false),
                vec![C::Cancelled],
            ),
            (
                Some(seen(S::Cancelled { hangup: false }, false)),
                seen(S::Cancelled { hangup: true }, false),
                vec![C::Cancelled],
            ),
            (Some(active), seen(S::Active, true), vec![C::Finished]),
            (
                Some(active),
                seen(S::Cancelled { hangup: false }, true),
                vec![C::Cancelled, C::Finished],
            ),
            (Some(seen(S::Active, true)), active, vec![C::Reopened]),
            (Some(seen(S::Active, true)), seen(S::Active, true), vec![]),
        ];
        for (before, now, want) in cases {
            assert_eq!(changes(before, now), want, "{before:?} -> {now:?}");
        }
    }
}
