//! Scorecard reports kept between requests, so the scorecards page answers
//! in milliseconds with thousands of officials.
//!
//! A report reads every scorecard of its dimension over its days (5,000
//! officials over 30 days: 150,000 tallies, about 2.5 s on the reference
//! machine, docs/performance.md), while a page shows a hundred rows of it.
//! So the console keeps the unfiltered report per (dimension, first day)
//! and narrows it per request: a department's or an office's rows, ranked
//! again among themselves (the report's order does not depend on which
//! other rows are there, so dropping rows and numbering the ranked ones
//! again gives what `build_report` with the filter would).
//!
//! | kept report, score cursor since      | does |
//! |--------------------------------------|------|
//! | none                                 | builds it (one build at a time), the request waits |
//! | same cursor                          | serves it |
//! | moved, report younger than [`FRESH_FOR`] | serves it |
//! | moved, older                         | serves it marked as updating, and rebuilds it in the background (once) |
//!
//! So the scorecards shown are at most [`FRESH_FOR`] plus one build behind
//! the scorer, and say as of when. At most [`KEPT`] reports are kept (the
//! least recently used goes).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use tracing::{Instrument, info_span, warn};

use crate::accountability::report::{Report, ReportQuery, ReportRow, build_report};
use crate::domain::scorecard::Dimension;
use crate::store::{Store, StoreError};

/// How long a report is served after the scorecards changed before it is
/// rebuilt.
pub const FRESH_FOR: Duration = Duration::from_secs(15);
/// Reports kept at most.
pub const KEPT: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    by: Dimension,
    since: Option<Date>,
}

struct Entry {
    report: Arc<Report>,
    /// The score cursor read before the report was built.
    cursor: String,
    built: Instant,
    /// The store's clock when it was built (ms), to say "as of".
    built_at_ms: i64,
    used: Instant,
}

/// A kept report as one request gets it.
pub struct Served {
    pub report: Arc<Report>,
    pub built_at_ms: i64,
    /// The scorecards changed since; a newer report is being built.
    pub updating: bool,
}

#[derive(Default)]
pub struct Reports {
    entries: Mutex<HashMap<Key, Entry>>,
    rebuilding: Mutex<HashSet<Key>>,
    /// One cold build at a time: a second request for it waits, then finds it.
    build: tokio::sync::Mutex<()>,
}

impl Reports {
    /// The unfiltered report of `by` from `since` (`None`: every day).
    pub async fn get(
        self: &Arc<Self>,
        store: &Arc<dyn Store>,
        by: Dimension,
        since: Option<Date>,
    ) -> Result<Served, StoreError> {
        let key = Key { by, since };
        let cursor = store.score_cursor().await?;
        if let Some(served) = self.kept(key, &cursor, store) {
            return Ok(served);
        }
        let _one_at_a_time = self.build.lock().await;
        if let Some(served) = self.kept(key, &cursor, store) {
            return Ok(served);
        }
        let built_at_ms = store.now_ms().await?;
        let report = Arc::new(build_report(store.as_ref(), &query(key)).await?);
        self.keep(key, report.clone(), cursor, built_at_ms);
        Ok(Served {
            report,
            built_at_ms,
            updating: false,
        })
    }

    /// The kept report, if it may be served (rebuilding it in the
    /// background when it is due).
    fn kept(self: &Arc<Self>, key: Key, cursor: &str, store: &Arc<dyn Store>) -> Option<Served> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.get_mut(&key)?;
        entry.used = Instant::now();
        let updating = entry.cursor != cursor && entry.built.elapsed() >= FRESH_FOR;
        let served = Served {
            report: entry.report.clone(),
            built_at_ms: entry.built_at_ms,
            updating,
        };
        drop(entries);
        if updating {
            self.rebuild_in_background(key, cursor.to_owned(), store.clone());
        }
        Some(served)
    }

    fn keep(&self, key: Key, report: Arc<Report>, cursor: String, built_at_ms: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= KEPT
            && !entries.contains_key(&key)
            && let Some(oldest) = entries.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k)
        {
            entries.remove(&oldest);
        }
        let now = Instant::now();
        entries.insert(
            key,
            Entry {
                report,
                cursor,
                built: now,
                built_at_ms,
                used: now,
            },
        );
    }

    /// Builds `key`'s report again, unless a build of it is under way. A
    /// detached task rather than one on the daemon's tracker: it ends by
    /// itself within one build, writes nothing but this cache, and losing
    /// it at shutdown loses nothing.
    fn rebuild_in_background(self: &Arc<Self>, key: Key, cursor: String, store: Arc<dyn Store>) {
        if !self
            .rebuilding
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key)
        {
            return;
        }
        let this = self.clone();
        let span = info_span!("console_report", report.by = %key.by);
        tokio::spawn(
            async move {
                let built = async {
                    let at = store.now_ms().await?;
                    Ok::<_, StoreError>((build_report(store.as_ref(), &query(key)).await?, at))
                }
                .await;
                match built {
                    Ok((report, at)) => this.keep(key, Arc::new(report), cursor, at),
                    Err(e) => warn!(error = %e, "a scorecard report could not be rebuilt"),
                }
                this.rebuilding
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&key);
            }
            .instrument(span),
        );
    }
}

fn query(key: Key) -> ReportQuery {
    let mut q = ReportQuery::new(key.by);
    q.since = key.since;
    q
}

/// One row of a narrowed report: its rank among the rows kept.
pub struct Ranked<'a> {
    pub rank: Option<usize>,
    pub row: &'a ReportRow,
}

/// `report`'s rows of `department` (and `office`, for officials and
/// offices), ranked again among themselves, in the report's order.
pub fn narrowed<'a>(
    report: &'a Report,
    department: Option<&str>,
    office: Option<&str>,
) -> Vec<Ranked<'a>> {
    let by = report.query.by;
    let mut next = 1;
    report
        .rows
        .iter()
        .filter(|r| department.is_none_or(|d| r.entity.department() == d))
        .filter(|r| office.is_none_or(|o| r.entity.office(by) == Some(o)))
        .map(|row| {
            let rank = row.rank.map(|_| {
                next += 1;
                next - 1
            });
            Ranked { rank, row }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scorecard::{Entity, ScoreUpdate, Tally};
    use crate::store::memory::MemoryStore;

    fn update(dept: &str, office: &str, id: &str, answered: i64, negative: i64) -> ScoreUpdate {
        let mut t = Tally::default();
        t.add("answered", answered);
        t.add("negative", negative);
        ScoreUpdate {
            by: Dimension::Official,
            day: "2026-11-01".parse().unwrap(),
            entity: Entity {
                path: vec![dept.into(), office.into(), id.into()],
            },
            tally: t,
        }
    }

    #[tokio::test]
    async fn narrowing_ranks_as_the_filtered_report_would() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(1));
        let updates = vec![
            update("police", "a", "p1", 50, 20),
            update("health", "c", "h1", 40, 30),
            update("police", "b", "p2", 30, 3),
            update("police", "a", "p3", 2, 2),
            update("health", "c", "h2", 20, 1),
        ];
        assert!(store.apply_scores("0-0", "1-0", &updates).await.unwrap());
        let reports = Arc::new(Reports::default());
        let served = reports
            .get(&store, Dimension::Official, None)
            .await
            .unwrap();
        for (dept, office) in [
            (None, None),
            (Some("police"), None),
            (Some("police"), Some("a")),
            (Some("health"), None),
        ] {
            let mut q = ReportQuery::new(Dimension::Official);
            q.department = dept.map(str::to_owned);
            q.office = office.map(str::to_owned);
            let direct = build_report(store.as_ref(), &q).await.unwrap();
            let narrow = narrowed(&served.report, dept, office);
            let got: Vec<(Option<usize>, &str)> = narrow
                .iter()
                .map(|r| (r.rank, r.row.entity.name()))
                .collect();
            let want: Vec<(Option<usize>, &str)> = direct
                .rows
                .iter()
                .map(|r| (r.rank, r.entity.name()))
                .collect();
            assert_eq!(got, want, "{dept:?} {office:?}");
        }
    }

    #[tokio::test]
    async fn a_kept_report_is_served_until_the_scorecards_change() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(1));
        assert!(
            store
                .apply_scores("0-0", "1-0", &[update("p", "a", "x", 5, 1)])
                .await
                .unwrap()
        );
        let reports = Arc::new(Reports::default());
        let first = reports
            .get(&store, Dimension::Official, None)
            .await
            .unwrap();
        let again = reports
            .get(&store, Dimension::Official, None)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first.report, &again.report));
        assert!(!again.updating);
        // New scorecards: the kept report stays for FRESH_FOR (it is younger).
        assert!(
            store
                .apply_scores("1-0", "2-0", &[update("p", "a", "y", 5, 5)])
                .await
                .unwrap()
        );
        let young = reports
            .get(&store, Dimension::Official, None)
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&first.report, &young.report) && !young.updating);
        // Another first day is another report.
        let other = reports
            .get(
                &store,
                Dimension::Official,
                Some("2026-11-01".parse().unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(other.report.rows.len(), 2);
    }
}
