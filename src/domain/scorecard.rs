//! What one feedback record adds to the scorecards: the pure part of the
//! aggregates (no I/O), shared by the live scorer and `report rebuild`, so
//! both count the same way by construction.
//!
//! A scorecard is a set of counters (a [`Tally`]) per dimension (official,
//! office, department, service), entity and day (the record's end, in the
//! programme's time zone). Entities carry their parents so reports can
//! filter and drill down: an official is `department / office / official`,
//! an office `department / office`, a service `department / service`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{FeedbackRecord, Outcome, ScoringRules};

/// What a scorecard is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Official,
    Office,
    Department,
    Service,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Official,
        Dimension::Office,
        Dimension::Department,
        Dimension::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Official => "official",
            Dimension::Office => "office",
            Dimension::Department => "department",
            Dimension::Service => "service",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not a report dimension (official, office, department or service)")
            })
    }
}

/// One scorecard's subject: its dimension and its path from the department
/// down (`[department]`, `[department, office]`, `[department, office,
/// official]` or `[department, service]`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entity {
    pub path: Vec<String>,
}

/// Separates an entity's parts in its stored form (a unit separator, which
/// no id or name holds).
const SEP: char = '\u{1f}';

impl Entity {
    /// The stored form (a Redis hash field).
    pub fn encode(&self) -> String {
        self.path.join(&SEP.to_string())
    }

    pub fn decode(raw: &str) -> Entity {
        Entity {
            path: raw.split(SEP).map(str::to_owned).collect(),
        }
    }

    pub fn department(&self) -> &str {
        self.path.first().map_or("", String::as_str)
    }

    /// The office of an official or office entity.
    pub fn office(&self, by: Dimension) -> Option<&str> {
        match by {
            Dimension::Official | Dimension::Office => self.path.get(1).map(String::as_str),
            _ => None,
        }
    }

    /// The entity's own name: the last part of its path.
    pub fn name(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }
}

/// Counters of one scorecard (one entity, one day or a sum of days). Keys:
/// `contacts`, `dialled`, `answered`, `completed`, `partial`, `opted_out`,
/// `negative` (answered and raised an escalating flag), `rating_sum` and
/// `rating_n`, `outcome:<outcome>`, `flag:<flag>` and
/// `answer:<question>=<value>`. Absent keys are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tally(pub BTreeMap<String, i64>);

impl Tally {
    pub fn get(&self, key: &str) -> i64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    pub fn add(&mut self, key: &str, n: i64) {
        *self.0.entry(key.to_owned()).or_insert(0) += n;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    /// `(flag, count)` in name order.
    pub fn flags(&self) -> impl Iterator<Item = (&str, i64)> {
        self.prefixed("flag:")
    }

    /// `(outcome, count)` in name order.
    pub fn outcomes(&self) -> impl Iterator<Item = (&str, i64)> {
        self.prefixed("outcome:")
    }

    /// `("question=value", count)` in name order.
    pub fn answers(&self) -> impl Iterator<Item = (&str, i64)> {
        self.prefixed("answer:")
    }

    fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, i64)> + 'a {
        self.0
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(move |(k, v)| (&k[prefix.len()..], *v))
    }

    /// The mean of the rating answers, if any were given.
    pub fn mean_rating(&self) -> Option<f64> {
        let n = self.get("rating_n");
        (n > 0).then(|| self.get("rating_sum") as f64 / n as f64)
    }
}

/// Whether the citizen picked up and heard the survey.
pub fn answered(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Completed | Outcome::Partial | Outcome::OptedOut
    )
}

/// What a record adds to one scorecard.
pub fn tally_of(record: &FeedbackRecord, rules: &ScoringRules) -> Tally {
    let mut t = Tally::default();
    t.add("contacts", 1);
    if record.attempts > 0 {
        t.add("dialled", 1);
    }
    let picked_up = answered(record.outcome);
    if picked_up {
        t.add("answered", 1);
    }
    match record.outcome {
        Outcome::Completed => t.add("completed", 1),
        Outcome::Partial => t.add("partial", 1),
        Outcome::OptedOut => t.add("opted_out", 1),
        _ => {}
    }
    t.add(&format!("outcome:{}", record.outcome), 1);
    for flag in &record.flags {
        t.add(&format!("flag:{flag}"), 1);
    }
    if picked_up && rules.escalating(record).is_some() {
        t.add("negative", 1);
    }
    for answer in &record.answers {
        t.add(&format!("answer:{}={}", answer.question, answer.value), 1);
        if rules.is_rating(&answer.question)
            && let Ok(rating) = answer.value.parse::<i64>()
        {
            t.add("rating_sum", rating);
            t.add("rating_n", 1);
        }
    }
    t
}

/// The entities a record counts towards, one per dimension. An inbound
/// record tied to no visit counts only for its department.
pub fn entities_of(record: &FeedbackRecord) -> Vec<(Dimension, Entity)> {
    let dept = record.department.clone();
    let mut out = vec![(
        Dimension::Department,
        Entity {
            path: vec![dept.clone()],
        },
    )];
    if !record.attributed {
        return out;
    }
    out.push((
        Dimension::Office,
        Entity {
            path: vec![dept.clone(), record.office.clone()],
        },
    ));
    out.push((
        Dimension::Official,
        Entity {
            path: vec![
                dept.clone(),
                record.office.clone(),
                record.official_id.clone(),
            ],
        },
    ));
    out.push((
        Dimension::Service,
        Entity {
            path: vec![dept, record.service.clone()],
        },
    ));
    out
}

/// The programme's day a record belongs to: when its call ended, in `tz`.
pub fn day_of(record: &FeedbackRecord, tz: &TimeZone) -> Date {
    tz.to_datetime(
        jiff::Timestamp::from_millisecond(record.finished_at_ms)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
    .date()
}

/// One scorecard increment: add `tally` to `entity`'s `by` card for `day`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreUpdate {
    pub by: Dimension,
    pub day: Date,
    pub entity: Entity,
    pub tally: Tally,
}

/// The increments of a batch of records, merged per (dimension, day,
/// entity) so a batch touches each scorecard once.
pub fn updates_of<'a>(
    records: impl IntoIterator<Item = &'a FeedbackRecord>,
    rules: &ScoringRules,
    tz: &TimeZone,
) -> Vec<ScoreUpdate> {
    let mut merged: BTreeMap<(Dimension, Date, Entity), Tally> = BTreeMap::new();
    for record in records {
        let tally = tally_of(record, rules);
        let day = day_of(record, tz);
        for (by, entity) in entities_of(record) {
            merged.entry((by, day, entity)).or_default().merge(&tally);
        }
    }
    merged
        .into_iter()
        .map(|((by, day, entity), tally)| ScoreUpdate {
            by,
            day,
            entity,
            tally,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Answer, Direction, Severity};

    fn answer(q: &str, v: &str, flag: Option<&str>) -> Answer {
        Answer {
            question: q.into(),
            digits: "1".into(),
            value: v.into(),
            label: v.into(),
            flag: flag.map(str::to_owned),
            at_ms: 0,
        }
    }

    pub(crate) fn record(id: &str, outcome: Outcome, answers: Vec<Answer>) -> FeedbackRecord {
        FeedbackRecord {
            version: 1,
            record_id: id.into(),
            campaign_id: "c".into(),
            contact_id: id.into(),
            official_id: "off-1".into(),
            department: "police".into(),
            office: "ଖୋର୍ଦ୍ଧା ଥାନା".into(),
            service: "fir".into(),
            outcome,
            reason: None,
            attempts: 1,
            flags: crate::domain::flags_of(&answers),
            answers,
            queued_at_ms: 0,
            first_dialled_at_ms: Some(0),
            // 2026-11-30 20:00 UTC = 2026-12-01 01:30 in Kolkata.
            finished_at_ms: 1_796_068_800_000,
            direction: Direction::Outbound,
            attributed: true,
            bridge: None,
        }
    }

    fn rules() -> ScoringRules {
        ScoringRules::new(
            [("bribe_asked".to_owned(), Severity::Urgent)],
            ["rating".to_owned()],
        )
    }

    #[test]
    fn a_completed_call_with_a_bribe_is_negative() {
        let r = record(
            "a",
            Outcome::Completed,
            vec![
                answer("asked_money", "yes", Some("bribe_asked")),
                answer("rating", "2", None),
            ],
        );
        let t = tally_of(&r, &rules());
        assert_eq!(t.get("contacts"), 1);
        assert_eq!(t.get("answered"), 1);
        assert_eq!(t.get("negative"), 1);
        assert_eq!(t.get("flag:bribe_asked"), 1);
        assert_eq!(t.get("answer:asked_money=yes"), 1);
        assert_eq!(t.mean_rating(), Some(2.0));
        assert_eq!(t.flags().collect::<Vec<_>>(), [("bribe_asked", 1)]);
    }

    #[test]
    fn an_unanswered_call_is_never_negative() {
        let mut r = record("a", Outcome::NoAnswer, vec![]);
        r.flags = vec!["bribe_asked".into()];
        let t = tally_of(&r, &rules());
        assert_eq!(t.get("answered"), 0);
        assert_eq!(t.get("negative"), 0);
        assert_eq!(t.get("outcome:no_answer"), 1);
    }

    #[test]
    fn days_are_the_programmes() {
        let r = record("a", Outcome::Completed, vec![]);
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        assert_eq!(day_of(&r, &tz).to_string(), "2026-12-01");
        assert_eq!(day_of(&r, &TimeZone::UTC).to_string(), "2026-11-30");
    }

    #[test]
    fn a_batch_is_merged_per_card() {
        let a = record("a", Outcome::Completed, vec![]);
        let b = record("b", Outcome::Completed, vec![]);
        let updates = updates_of([&a, &b], &rules(), &TimeZone::UTC);
        assert_eq!(updates.len(), 4);
        assert!(updates.iter().all(|u| u.tally.get("contacts") == 2));
        let official = updates
            .iter()
            .find(|u| u.by == Dimension::Official)
            .unwrap();
        assert_eq!(official.entity.name(), "off-1");
        assert_eq!(
            official.entity.office(Dimension::Official),
            Some("ଖୋର୍ଦ୍ଧା ଥାନା")
        );
        assert_eq!(Entity::decode(&official.entity.encode()), official.entity);
    }

    #[test]
    fn an_unattributed_inbound_call_counts_for_its_department_only() {
        let mut r = record("a", Outcome::Completed, vec![]);
        r.attributed = false;
        let e = entities_of(&r);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].0, Dimension::Department);
    }
}
