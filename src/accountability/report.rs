//! Reports: the scorecards of one dimension over a range of days, filtered,
//! summed per entity and ranked (see `rank.rs`), with each entity's days for
//! a trend. The same report feeds `sampark report`, the admin API and the
//! console.

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::Serialize;

use super::rank::{Z95, wilson_lower};
use crate::domain::scorecard::{Dimension, Entity, Tally};
use crate::store::{Store, StoreError};

/// Entities with fewer answered calls than this are listed but not ranked.
pub const MIN_ANSWERED: i64 = 5;

/// How a report ranks, in words, printed with every report.
pub const METHOD: &str = "Ranked worst first by the lower bound of the 95% Wilson interval of the \
negative share (answered calls that raised an escalating flag, out of answered calls): the share \
the evidence shows at least, so a small sample cannot look worse than it is known to be. Entities \
with fewer than 5 answered calls are listed unranked (one complaint out of one call would have a \
bound of 21%).";

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    pub by: Dimension,
    pub department: Option<String>,
    /// Only for `official` and `office` reports (a service has no office).
    pub office: Option<String>,
    /// First day included (default: the first day with scorecards).
    pub since: Option<Date>,
    /// Last day included (default: the last day with scorecards).
    pub until: Option<Date>,
}

impl ReportQuery {
    pub fn new(by: Dimension) -> ReportQuery {
        ReportQuery {
            by,
            department: None,
            office: None,
            since: None,
            until: None,
        }
    }

    /// Checks the query makes sense; the error says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.office.is_some() && !matches!(self.by, Dimension::Official | Dimension::Office) {
            return Err(format!(
                "an office filter applies to reports by official or by office, not by {}",
                self.by
            ));
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(format!("since ({since}) is after until ({until})"));
        }
        Ok(())
    }

    fn admits(&self, entity: &Entity) -> bool {
        self.department
            .as_deref()
            .is_none_or(|d| entity.department() == d)
            && self
                .office
                .as_deref()
                .is_none_or(|o| entity.office(self.by) == Some(o))
    }
}

/// A day as an operator gives one (`--since`, `?until=`): exactly
/// `YYYY-MM-DD`, a real date. The error says what was expected.
pub fn parse_day(text: &str) -> Result<Date, String> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err(format!("{text:?} is not a date written YYYY-MM-DD"));
    }
    text.parse::<Date>()
        .map_err(|_| format!("{text:?} is not a date of the calendar"))
}

/// One day of an entity's trend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DayPoint {
    pub day: Date,
    pub answered: i64,
    pub negative: i64,
    pub mean_rating: Option<f64>,
}

/// One entity's line of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    pub entity: Entity,
    /// The sum of the entity's days in the range.
    pub tally: Tally,
    /// 1 = worst; `None` with fewer than [`MIN_ANSWERED`] answered calls.
    pub rank: Option<usize>,
    /// Negative share, answered calls only.
    pub negative_share: Option<f64>,
    /// The Wilson lower bound of `negative_share`.
    pub wilson_lower: Option<f64>,
    /// Every day in the range that has a scorecard, in order.
    pub days: Vec<DayPoint>,
}

impl ReportRow {
    pub fn answered(&self) -> i64 {
        self.tally.get("answered")
    }
}

/// A ranked report.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub query: ReportQuery,
    /// The range actually covered (`None` when there are no scorecards).
    pub since: Option<Date>,
    pub until: Option<Date>,
    /// Ranked entities first (worst first), then unranked ones by name.
    pub rows: Vec<ReportRow>,
}

/// Reads and ranks the report `query` asks for.
pub async fn build_report(store: &dyn Store, query: &ReportQuery) -> Result<Report, StoreError> {
    let days: Vec<Date> = store
        .score_days()
        .await?
        .into_iter()
        .filter(|d| query.since.is_none_or(|s| *d >= s) && query.until.is_none_or(|u| *d <= u))
        .collect();
    let scores = store.read_scores(query.by, &days).await?;
    let mut per_entity: BTreeMap<Entity, BTreeMap<Date, Tally>> = BTreeMap::new();
    for score in scores {
        if query.admits(&score.entity) {
            per_entity
                .entry(score.entity)
                .or_default()
                .entry(score.day)
                .or_default()
                .merge(&score.tally);
        }
    }
    let rows = per_entity
        .into_iter()
        .map(|(entity, days)| row_of(entity, &days))
        .collect();
    Ok(Report {
        query: query.clone(),
        since: query.since.or(days.first().copied()),
        until: query.until.or(days.last().copied()),
        rows: ranked(rows),
    })
}

fn row_of(entity: Entity, days: &BTreeMap<Date, Tally>) -> ReportRow {
    let mut tally = Tally::default();
    for t in days.values() {
        tally.merge(t);
    }
    let answered = tally.get("answered");
    let negative = tally.get("negative");
    ReportRow {
        entity,
        negative_share: (answered > 0).then(|| negative as f64 / answered as f64),
        wilson_lower: wilson_lower(negative, answered, Z95),
        rank: None,
        days: days
            .iter()
            .map(|(day, t)| DayPoint {
                day: *day,
                answered: t.get("answered"),
                negative: t.get("negative"),
                mean_rating: t.mean_rating(),
            })
            .collect(),
        tally,
    }
}

/// Ranked entities (enough answered calls) first: worst first by the
/// bound, then by more evidence, then by name. Then the others by name.
fn ranked(mut rows: Vec<ReportRow>) -> Vec<ReportRow> {
    let bound = |r: &ReportRow| r.wilson_lower.filter(|_| r.answered() >= MIN_ANSWERED);
    rows.sort_by(|a, b| match (bound(a), bound(b)) {
        (Some(x), Some(y)) => y
            .total_cmp(&x)
            .then(b.answered().cmp(&a.answered()))
            .then(a.entity.cmp(&b.entity)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.entity.cmp(&b.entity),
    });
    let mut next = 1;
    for row in &mut rows {
        if bound(row).is_some() {
            row.rank = Some(next);
            next += 1;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::scorecard::ScoreUpdate;
    use crate::store::memory::MemoryStore;

    fn tally(answered: i64, negative: i64) -> Tally {
        let mut t = Tally::default();
        t.add("contacts", answered);
        t.add("answered", answered);
        t.add("negative", negative);
        t
    }

    fn official(dept: &str, office: &str, id: &str) -> Entity {
        Entity {
            path: vec![dept.into(), office.into(), id.into()],
        }
    }

    async fn store_with(updates: Vec<ScoreUpdate>) -> MemoryStore {
        let store = MemoryStore::new(1);
        assert!(store.apply_scores("0-0", "1-0", &updates).await.unwrap());
        store
    }

    fn day(d: &str) -> Date {
        d.parse().unwrap()
    }

    #[tokio::test]
    async fn one_complaint_out_of_one_is_not_ranked_worst() {
        let u = |e: Entity, d: &str, t: Tally| ScoreUpdate {
            by: Dimension::Official,
            day: day(d),
            entity: e,
            tally: t,
        };
        let store = store_with(vec![
            u(official("police", "a", "one"), "2026-11-01", tally(1, 1)),
            u(official("police", "a", "many"), "2026-11-01", tally(50, 10)),
            u(official("police", "a", "many"), "2026-11-02", tally(50, 10)),
            u(official("police", "b", "none"), "2026-11-02", tally(0, 0)),
            u(official("health", "c", "other"), "2026-11-02", tally(5, 0)),
        ])
        .await;
        let report = build_report(&store, &ReportQuery::new(Dimension::Official))
            .await
            .unwrap();
        let names: Vec<&str> = report.rows.iter().map(|r| r.entity.name()).collect();
        // 1 of 1 has a higher bound (0.21) than 20 of 100 (0.13): too
        // few calls to rank at all.
        assert_eq!(names, ["many", "other", "one", "none"]);
        assert_eq!(report.rows[0].rank, Some(1));
        assert_eq!(report.rows[1].rank, Some(2));
        assert_eq!(report.rows[0].tally.get("answered"), 100);
        assert_eq!(report.rows[0].days.len(), 2);
        assert_eq!(report.rows[2].rank, None);
        assert!(report.rows[2].wilson_lower.unwrap() > report.rows[0].wilson_lower.unwrap());
        assert_eq!(report.rows[3].rank, None);
        assert_eq!(report.since, Some(day("2026-11-01")));

        let mut q = ReportQuery::new(Dimension::Official);
        q.department = Some("police".into());
        q.office = Some("a".into());
        q.since = Some(day("2026-11-02"));
        let report = build_report(&store, &q).await.unwrap();
        let names: Vec<&str> = report.rows.iter().map(|r| r.entity.name()).collect();
        assert_eq!(names, ["many"]);
        assert_eq!(report.rows[0].tally.get("answered"), 50);
    }

    #[test]
    fn days_are_written_one_way() {
        assert_eq!(parse_day("2026-11-30"), Ok(day("2026-11-30")));
        for bad in [
            "2026-11-31",
            "2026-13-01",
            "30-11-2026",
            "2026-1-5",
            "2026-11-30T10:00",
            "",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
        assert!(parse_day("2026-02-30").unwrap_err().contains("calendar"));
    }

    #[test]
    fn office_filters_need_offices() {
        let mut q = ReportQuery::new(Dimension::Service);
        q.office = Some("x".into());
        assert!(q.validate().unwrap_err().contains("office"));
        let mut q = ReportQuery::new(Dimension::Office);
        q.since = Some(day("2026-11-02"));
        q.until = Some(day("2026-11-01"));
        assert!(q.validate().is_err());
    }
}
