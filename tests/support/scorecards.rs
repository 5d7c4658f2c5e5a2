//! Reading every scorecard, and what they must be: the records on the
//! feedback stream counted once each.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;
use sampark::accountability::scorer::ScoringContext;
use sampark::domain::FeedbackRecord;
use sampark::domain::scorecard::{Dimension, Entity, Tally, updates_of};
use sampark::store::Store;

use super::daemon::{dialplans, settings};

/// Every scorecard, keyed by dimension, day and entity.
pub type Cards = BTreeMap<(Dimension, Date, Entity), Tally>;

/// The scoring context every test daemon runs with (the sample dialplans'
/// rules, the default programme zone).
pub fn scoring() -> ScoringContext {
    let settings = settings("http://unused", "http://unused");
    ScoringContext {
        rules: Arc::new(dialplans().scoring_rules()),
        zone: settings.policy.calling_window.zone().clone(),
    }
}

/// The scorecards as the store holds them.
pub async fn stored_cards(store: &dyn Store) -> Cards {
    let days = store.score_days().await.unwrap();
    let mut out = Cards::new();
    for by in Dimension::ALL {
        for score in store.read_scores(by, &days).await.unwrap() {
            let old = out.insert((by, score.day, score.entity), score.tally);
            assert!(old.is_none(), "one scorecard per dimension, day and entity");
        }
    }
    out
}

/// The scorecards `records` make when each is counted once.
pub fn expected_cards(records: &[FeedbackRecord], cx: &ScoringContext) -> Cards {
    updates_of(records, &cx.rules, &cx.zone)
        .into_iter()
        .map(|u| ((u.by, u.day, u.entity), u.tally))
        .collect()
}

/// The total of one counter over every department's cards.
pub fn department_total(cards: &Cards, counter: &str) -> i64 {
    cards
        .iter()
        .filter(|((by, _, _), _)| *by == Dimension::Department)
        .map(|(_, t)| t.get(counter))
        .sum()
}
