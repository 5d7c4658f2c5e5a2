//! Campaign-control contracts: pause parks, resume restores exactly what was
//! parked, cancel ends every waiting job once with its record.

use std::sync::Arc;

use sampark::domain::{JobState, Outcome, PhoneNumber};
use sampark::store::{
    Authorize, CampaignAction, CampaignState, DialLimits, NewJob, NumberClaim, PutOutcome, Store,
};

use super::helpers::*;

pub async fn pause_resume_and_cancel(store: Arc<dyn Store>) {
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-3"), ("c-3", "off-2")],
    )
    .await;
    let id = campaign_id();
    let entries = ready(&store, 3).await;
    let pause = store.control_campaign(&id, CampaignAction::Pause).await;
    assert_eq!(pause.unwrap(), Some(CampaignState::Paused));
    // A paused campaign's job is parked when read: no quota, no dial.
    assert_eq!(
        store
            .authorize(&entries["c-1"], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Parked
    );
    let parked = job(&store, "c-1").await;
    assert_eq!(
        (parked.state, parked.attempt, parked.reason.as_deref()),
        (JobState::Queued, 0, Some("campaign paused"))
    );
    // Nothing of it is on a ready stream any more.
    for shard in 0..store.shards() {
        store.promote_due(shard, 100).await.unwrap();
    }
    assert!(
        store
            .read_ready("dialer", 100, HOUR)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.campaign_status(&id).await.unwrap().unwrap().state,
        CampaignState::Paused
    );

    // Resumed: exactly the parked job is back, and dials.
    let resumed = store.control_campaign(&id, CampaignAction::Resume).await;
    assert_eq!(resumed.unwrap(), Some(CampaignState::Active));
    let again = ready_again(&store, "c-1").await;
    let (granted, _) = grant(&store, &again, HOUR).await;
    assert_eq!(granted.attempt, 1);

    // c-2 waits in the delayed set; c-3 was read and not yet decided.
    let later = store.now_ms().await.unwrap() + 3_600_000;
    store
        .defer(&entries["c-2"], later, "outside hours")
        .await
        .unwrap();
    let cancel = store
        .control_campaign(&id, CampaignAction::Cancel { hangup: true })
        .await;
    assert_eq!(
        cancel.unwrap(),
        Some(CampaignState::Cancelled { hangup: true })
    );
    assert_eq!(
        job(&store, "c-2").await.state,
        JobState::Done(Outcome::Cancelled)
    );
    assert_eq!(
        store
            .authorize(&entries["c-3"], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Cancelled
    );
    // The call in progress is left alone, and listed for hanging up.
    assert_eq!(job(&store, "c-1").await.state, JobState::Dialing);
    let live = store.in_flight_of(&id).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id.contact.as_str(), "c-1");
    assert_eq!(
        store.hangup_requests().await.unwrap(),
        std::slice::from_ref(&id)
    );
    store.hangup_done(&id).await.unwrap();
    assert!(store.hangup_requests().await.unwrap().is_empty());

    // Final and idempotent.
    let resume = store.control_campaign(&id, CampaignAction::Resume).await;
    assert_eq!(
        resume.unwrap(),
        Some(CampaignState::Cancelled { hangup: true })
    );
    let twice = store
        .control_campaign(&id, CampaignAction::Cancel { hangup: false })
        .await;
    assert_eq!(
        twice.unwrap(),
        Some(CampaignState::Cancelled { hangup: true })
    );
    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 100, &sampark::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    let records = store.read_feedback("0", 100).await.unwrap();
    let mut cancelled: Vec<_> = records
        .iter()
        .map(|(_, r)| (r.contact_id.clone(), r.outcome, r.reason.clone()))
        .collect();
    cancelled.sort();
    assert_eq!(
        cancelled,
        [
            (
                "c-2".into(),
                Outcome::Cancelled,
                Some("campaign cancelled".into())
            ),
            (
                "c-3".into(),
                Outcome::Cancelled,
                Some("campaign cancelled".into())
            ),
        ]
    );
    assert_eq!(
        counts(&store).await,
        expect_counts(&[("cancelled", 2), ("dialing", 1)])
    );
    assert_eq!(store.campaigns().await.unwrap(), std::slice::from_ref(&id));
    let unknown = sampark::domain::CampaignId::parse("nobody").unwrap();
    assert_eq!(
        store
            .control_campaign(&unknown, CampaignAction::Pause)
            .await
            .unwrap(),
        None
    );
}

/// A contact a cancel ends before it was ever dialled (parked at ingest, or
/// read ready and decided after the cancel) has its number marked ended
/// when its record is relayed, so a replayed document never calls it: a
/// queued job holds its number but (Redis) not the number's tag, which the
/// relay needs once the number is dropped.
pub async fn a_number_cancelled_before_its_dial_is_never_called_again(store: Arc<dyn Store>) {
    store.put_campaign(&header()).await.unwrap();
    let id = campaign_id();
    let specs: Vec<_> = [("c-1", "off-1"), ("c-2", "off-2")]
        .into_iter()
        .enumerate()
        .map(|(i, (contact, official))| {
            let mut spec = spec(contact, official);
            spec.contact.phone = PhoneNumber::parse(&format!("+91987654321{i}")).unwrap();
            spec
        })
        .collect();
    for spec in &specs {
        let claim = store.claim_number(&id, &spec.contact.phone, &spec.contact.id);
        assert_eq!(claim.await.unwrap(), NumberClaim::Holds);
    }
    let opens = store.now_ms().await.unwrap() + 3_600_000;
    let jobs = [
        NewJob {
            spec: &specs[0],
            opens_at_ms: None,
        },
        NewJob {
            spec: &specs[1],
            opens_at_ms: Some(opens),
        },
    ];
    let created = store.enqueue_batch(&jobs).await.unwrap();
    assert_eq!(created, [PutOutcome::Created, PutOutcome::Created]);
    let entries = ready(&store, 1).await;
    store
        .control_campaign(&id, CampaignAction::Cancel { hangup: false })
        .await
        .unwrap();
    assert_eq!(
        store
            .authorize(&entries["c-1"], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap(),
        Authorize::Cancelled
    );
    assert_eq!(
        job(&store, "c-2").await.state,
        JobState::Done(Outcome::Cancelled)
    );
    for spec in &specs {
        assert_eq!(
            relayed_record(&store, spec.contact.id.as_str())
                .await
                .outcome,
            Outcome::Cancelled
        );
        let claim = store.claim_number(&id, &spec.contact.phone, &spec.contact.id);
        assert_eq!(
            claim.await.unwrap(),
            NumberClaim::Ended,
            "{}",
            spec.contact.id
        );
    }
}
