//! Contacts parked at ingest because their calling window is closed (Redis:
//! one park list per campaign and opening, `Keys::park_list`): promoted in
//! batches once due without waiting for another look, reported as waiting
//! outside calling hours until their opening, and ended by a cancel.

use std::collections::HashSet;
use std::sync::Arc;

use sampark::domain::{JobSpec, JobState, Outcome};
use sampark::store::{CampaignAction, NewJob, PutOutcome, ShardId, Store};

use super::helpers::*;

/// `n` contacts `c-<from + i>` of official `official`.
fn specs(from: usize, n: usize, official: &str) -> Vec<JobSpec> {
    (from..from + n)
        .map(|i| spec(&format!("c-{i}"), official))
        .collect()
}

/// Puts the campaign and enqueues `specs` parked until `opens` (ms).
async fn park(store: &Arc<dyn Store>, specs: &[JobSpec], opens: i64) {
    store.put_campaign(&header()).await.unwrap();
    let jobs: Vec<NewJob> = specs
        .iter()
        .map(|spec| NewJob {
            spec,
            opens_at_ms: Some(opens),
        })
        .collect();
    let outcomes = store.enqueue_batch(&jobs).await.unwrap();
    assert!(
        outcomes.iter().all(|o| *o == PutOutcome::Created),
        "{outcomes:?}"
    );
}

/// Every entry on the ready streams now, by contact id, each read once.
async fn drain_ready(store: &Arc<dyn Store>) -> Vec<String> {
    let mut contacts = Vec::new();
    loop {
        let batch = store.read_ready("dialer", 100, HOUR).await.unwrap();
        if batch.is_empty() {
            return contacts;
        }
        contacts.extend(batch.into_iter().map(|e| e.job.contact.to_string()));
    }
}

/// A shard's parked contacts, once their window opens, are promoted `max`
/// at a time, and each pass that leaves some reports the shard due at once
/// (the dialer loops on it without waiting for its next look); none is
/// promoted before, or twice.
pub async fn parked_contacts_are_promoted_in_batches_once_due(store: Arc<dyn Store>) {
    let now = store.now_ms().await.unwrap();
    let opens = now + 400;
    let parked = specs(0, 25, "off-1");
    park(&store, &parked, opens).await;
    let shard: ShardId = store.shard_of(&parked[0].contact.official_id);

    let early = store.promote(shard, 10).await.unwrap();
    assert_eq!(early.promoted, 0);
    assert_eq!(early.next_due_ms, Some(opens));
    assert!(!early.ready);
    assert!(drain_ready(&store).await.is_empty());
    let waiting = job(&store, "c-7").await;
    assert_eq!(
        (waiting.state, waiting.reason.as_deref()),
        (JobState::Queued, Some("outside calling hours"))
    );

    while store.now_ms().await.unwrap() < opens {
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let mut passes = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let pass = store.promote(shard, 10).await.unwrap();
        passes.push(pass.promoted);
        for contact in drain_ready(&store).await {
            assert!(seen.insert(contact.clone()), "{contact} promoted twice");
        }
        match pass.next_due_ms {
            // More of them: due at once.
            Some(due) if pass.promoted > 0 => assert!(due <= pass.now_ms, "{pass:?}"),
            Some(due) => panic!("nothing promoted, yet due at {due}: {pass:?}"),
            None => break,
        }
        assert!(passes.len() <= 3, "{passes:?}");
    }
    assert_eq!(passes, [10, 10, 5]);
    assert_eq!(seen.len(), 25);
    assert_eq!(counts(&store).await, expect_counts(&[("queued", 25)]));
    assert!(
        store
            .waiting(&campaign_id())
            .await
            .unwrap()
            .reasons
            .is_empty()
    );
}

/// `campaign status` lists parked contacts as waiting outside calling
/// hours, due at their openings, beside a contact deferred for the same
/// reason by the dialer.
pub async fn parked_contacts_wait_outside_calling_hours(store: Arc<dyn Store>) {
    let now = store.now_ms().await.unwrap();
    let (first, second) = (now + 3_600_000, now + 7_200_000);
    park(&store, &specs(0, 30, "off-1"), first).await;
    park(&store, &specs(30, 20, "off-2"), second).await;
    park(&store, &specs(50, 5, "off-1"), second).await;
    let ready_one = spec("c-99", "off-3");
    assert_eq!(
        store.enqueue(&ready_one).await.unwrap(),
        PutOutcome::Created
    );
    let entry = &ready(&store, 1).await["c-99"];
    store
        .defer(entry, now + 600_000, "outside calling hours")
        .await
        .unwrap();

    let waiting = store.waiting(&campaign_id()).await.unwrap();
    assert_eq!(waiting.reasons.len(), 1, "{waiting:?}");
    let why = &waiting.reasons[0];
    assert_eq!(why.reason, "outside calling hours");
    assert_eq!(why.contacts, 56);
    assert_eq!((why.first_due_ms, why.last_due_ms), (now + 600_000, second));
    for (contact, due) in [("c-0", first), ("c-40", second), ("c-54", second)] {
        let parked = job(&store, contact).await;
        assert_eq!(
            (parked.state, parked.reason.as_deref()),
            (JobState::Queued, Some("outside calling hours")),
            "{contact} (due {due})"
        );
    }
    assert_eq!(counts(&store).await, expect_counts(&[("queued", 56)]));
}

/// A cancel ends every parked contact (more than one of its batches, in
/// several shards) once, with its record; nothing is left to promote.
pub async fn a_cancel_ends_every_parked_contact(store: Arc<dyn Store>) {
    let opens = store.now_ms().await.unwrap() + 3_600_000;
    let mut parked = specs(0, 1_100, "off-1");
    parked.extend(specs(1_100, 40, "off-2"));
    parked.extend(specs(1_140, 30, "off-3"));
    park(&store, &parked, opens).await;
    let id = campaign_id();
    let state = store
        .control_campaign(&id, CampaignAction::Cancel { hangup: false })
        .await
        .unwrap();
    assert!(matches!(
        state,
        Some(sampark::store::CampaignState::Cancelled { .. })
    ));
    assert_eq!(counts(&store).await, expect_counts(&[("cancelled", 1_170)]));
    for contact in ["c-0", "c-1099", "c-1100", "c-1169"] {
        let ended = job(&store, contact).await;
        assert_eq!(ended.state, JobState::Done(Outcome::Cancelled), "{contact}");
        assert_eq!(ended.reason.as_deref(), Some("campaign cancelled"));
    }
    for shard in 0..store.shards() {
        let pass = store.promote(shard, 100).await.unwrap();
        assert_eq!(
            (pass.promoted, pass.next_due_ms),
            (0, None),
            "shard {shard}"
        );
    }
    assert!(drain_ready(&store).await.is_empty());
    assert!(store.waiting(&id).await.unwrap().reasons.is_empty());
    let rules = sampark::domain::ScoringRules::default();
    for shard in 0..store.shards() {
        while store.relay_feedback(shard, 500, &rules).await.unwrap() > 0 {}
    }
    let records = store.read_feedback("0", 5_000).await.unwrap();
    let cancelled: HashSet<String> = records
        .iter()
        .filter(|(_, r)| r.outcome == Outcome::Cancelled)
        .map(|(_, r)| r.contact_id.clone())
        .collect();
    assert_eq!(records.len(), 1_170);
    assert_eq!(cancelled.len(), 1_170, "one record per contact");
}
