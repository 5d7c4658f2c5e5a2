//! Escalations and scorecards in memory, with the Redis backend's
//! semantics: an escalation per record that raised an escalating flag
//! (written by the relay with the record), acknowledged once; scorecards
//! counted in batches fenced by the feedback cursor.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::civil::Date;

use crate::domain::scorecard::{Dimension, Entity, ScoreUpdate, Tally};
use crate::domain::{Acknowledgement, Escalation, EscalationView, FeedbackRecord, ScoringRules};
use crate::store::{AckOutcome, DayScore, EscalationQuery};

#[derive(Debug, Default)]
pub(super) struct Accountability {
    /// Every escalation in the order written.
    escalations: Vec<Escalation>,
    /// Escalation id → index in `escalations`.
    ids: HashMap<String, usize>,
    acks: HashMap<String, Acknowledgement>,
    cursor: Option<String>,
    scores: BTreeMap<(Dimension, Date, Entity), Tally>,
    days: BTreeSet<Date>,
}

impl Accountability {
    /// The escalation of a record just relayed, if it raises one and its
    /// id is new.
    pub fn escalate(&mut self, record_json: &str, rules: &ScoringRules) {
        let Ok(record) = serde_json::from_str::<FeedbackRecord>(record_json) else {
            return;
        };
        let Some(escalation) = rules.escalation_of(&record) else {
            return;
        };
        if self.ids.contains_key(&escalation.escalation_id) {
            return;
        }
        self.ids
            .insert(escalation.escalation_id.clone(), self.escalations.len());
        self.escalations.push(escalation);
    }

    fn view(&self, e: &Escalation) -> EscalationView {
        EscalationView {
            escalation: e.clone(),
            acknowledged: self.acks.get(&e.escalation_id).cloned(),
        }
    }

    pub fn escalations(&self, query: &EscalationQuery) -> Vec<EscalationView> {
        query.select(self.escalations.iter().map(|e| self.view(e)))
    }

    pub fn escalation(&self, id: &str) -> Option<EscalationView> {
        self.ids.get(id).map(|i| self.view(&self.escalations[*i]))
    }

    pub fn ack(&mut self, id: &str, ack: &Acknowledgement) -> AckOutcome {
        if !self.ids.contains_key(id) {
            return AckOutcome::Unknown;
        }
        if let Some(first) = self.acks.get(id) {
            return AckOutcome::Already(first.clone());
        }
        self.acks.insert(id.to_owned(), ack.clone());
        AckOutcome::Acknowledged
    }

    pub fn score_cursor(&self) -> String {
        self.cursor.clone().unwrap_or_else(|| "0-0".to_owned())
    }

    pub fn apply_scores(&mut self, expected: &str, next: &str, updates: &[ScoreUpdate]) -> bool {
        if self.score_cursor() != expected {
            return false;
        }
        for u in updates {
            self.scores
                .entry((u.by, u.day, u.entity.clone()))
                .or_default()
                .merge(&u.tally);
            self.days.insert(u.day);
        }
        self.cursor = Some(next.to_owned());
        true
    }

    pub fn reset_scores(&mut self) {
        self.scores.clear();
        self.days.clear();
        self.cursor = None;
    }

    pub fn score_days(&self) -> Vec<Date> {
        self.days.iter().copied().collect()
    }

    pub fn read_scores(&self, by: Dimension, days: &[Date]) -> Vec<DayScore> {
        let wanted: BTreeSet<Date> = days.iter().copied().collect();
        self.scores
            .iter()
            .filter(|((b, day, _), _)| *b == by && wanted.contains(day))
            .map(|((_, day, entity), tally)| DayScore {
                day: *day,
                entity: entity.clone(),
                tally: tally.clone(),
            })
            .collect()
    }
}
