//! Freshness contracts: a contact past its deadline ends `expired` with its
//! record and is never dialled; one too soon after its visit waits for its
//! time without spending quota; a retry that would land after the deadline
//! ends the contact instead.

use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{JobState, Outcome};
use sampark::store::{Authorize, DialLimits, Finish, PutOutcome, Store};

use super::helpers::*;

pub async fn deadlines_are_kept_at_authorisation_and_retry(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let now = store.now_ms().await.unwrap();
    let mut stale = spec("late", "off-1");
    stale.not_after_ms = Some(now - 1_000);
    let mut early = spec("early", "off-2");
    early.not_before_ms = Some(now + 300);
    let mut tight = spec("tight", "off-3");
    tight.not_after_ms = Some(now + 3_600_000);
    for s in [&stale, &early, &tight] {
        assert_eq!(store.enqueue(s).await.unwrap(), PutOutcome::Created);
    }
    // Too soon after the visit: parked at ingest, never made ready early.
    let entries = ready(&store, 2).await;
    assert!(!entries.contains_key("early"), "{:?}", entries.keys());
    assert_eq!(
        store
            .authorize(&entries["late"], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Expired
    );
    assert_eq!(
        job(&store, "late").await.state,
        JobState::Done(Outcome::Expired)
    );
    // `campaign status` says why it waits and when it comes due.
    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.next_due_ms(), Some(now + 300));
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    assert_eq!(waiting.reasons[0].reason, "too soon after the visit");
    assert_eq!(waiting.reasons[0].contacts, 1);
    let waited = ready_again(&store, "early").await;
    assert!(store.now_ms().await.unwrap() >= now + 300);
    assert_eq!(grant(&store, &waited, HOUR).await.0.attempt, 1);

    // A busy line, retried in two hours: past the one-hour deadline.
    grant(&store, &entries["tight"], HOUR).await;
    let id = job_ref(&store, "tight", "off-3");
    store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap();
    let retry = Finish::Retry {
        delay: Duration::from_secs(7_200),
        reason: "line busy".into(),
    };
    store.finish(&id, 1, None, &retry).await.unwrap();
    assert_eq!(
        job(&store, "tight").await.state,
        JobState::Done(Outcome::Expired)
    );

    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 10, &sampark::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    let mut records: Vec<_> = store
        .read_feedback("0", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, r)| {
            (
                r.contact_id,
                r.outcome,
                r.attempts,
                r.reason.unwrap_or_default(),
            )
        })
        .collect();
    records.sort();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        (records[0].0.as_str(), records[0].1, records[0].2),
        ("late", Outcome::Expired, 0)
    );
    assert!(records[0].3.contains("deadline"), "{records:?}");
    assert_eq!(
        (records[1].0.as_str(), records[1].1, records[1].2),
        ("tight", Outcome::Expired, 1)
    );
    assert!(
        records[1]
            .3
            .contains("a retry would come after the deadline"),
        "{records:?}"
    );
}
