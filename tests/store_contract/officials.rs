//! Per-official progress: every transition moves a job between its
//! official's state counts in the same atomic step as the campaign's, so the
//! per-official counts always add up to the campaign's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sampark::domain::{
    Attribution, CallStatus, CampaignHeader, CampaignId, ContactId, Direction, JobId, JobSpec,
    Outcome,
};
use sampark::store::{
    Authorize, CampaignAction, DialLimits, InboundStart, JobRef, Store, Transition,
};

use super::helpers::*;

type Officials = BTreeMap<String, BTreeMap<String, u64>>;

/// The per-official counts of `campaign`, checked to add up to its counts.
async fn officials_of(store: &Arc<dyn Store>, campaign: &CampaignId) -> Officials {
    let status = store.campaign_status(campaign).await.unwrap().unwrap();
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for per_state in status.officials.values() {
        for (state, n) in per_state {
            assert!(*n > 0, "zero counts are not listed: {:?}", status.officials);
            *sum.entry(state.clone()).or_default() += n;
        }
    }
    let counts: BTreeMap<String, u64> = status.counts.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(sum, counts, "per-official counts add up to the campaign's");
    status
        .officials
        .into_iter()
        .map(|(o, c)| (o.to_string(), c))
        .collect()
}

async fn officials(store: &Arc<dyn Store>) -> Officials {
    officials_of(store, &campaign_id()).await
}

fn expect(rows: &[(&str, &[(&str, u64)])]) -> Officials {
    rows.iter()
        .map(|(o, states)| ((*o).to_owned(), expect_counts(states)))
        .collect()
}

pub async fn per_official_counts_follow_each_job(store: Arc<dyn Store>) {
    seed(
        &store,
        &[("c-1", "off-1"), ("c-2", "off-3"), ("c-3", "off-2")],
    )
    .await;
    let skipped = spec("c-4", "off-2");
    store
        .enqueue_ended(&skipped, Outcome::NotSampled, "not in the sample")
        .await
        .unwrap();
    let entries = ready(&store, 3).await;
    assert_eq!(
        officials(&store).await,
        expect(&[
            ("off-1", &[("queued", 1)]),
            ("off-2", &[("queued", 1), ("not_sampled", 1)]),
            ("off-3", &[("queued", 1)]),
        ])
    );

    // c-1: dialled, answered, retried; then never placed and requeued;
    // then adopted by a status callback and completed.
    let id = job_ref(&store, "c-1", "off-1");
    grant(&store, &entries["c-1"], HOUR).await;
    let off_1 = expect_counts;
    assert_eq!(officials(&store).await["off-1"], off_1(&[("dialing", 1)]));
    store.mark_originated(&id, 1, "CA1", HOUR).await.unwrap();
    assert_eq!(officials(&store).await["off-1"], off_1(&[("in_call", 1)]));
    let applied = store
        .finish(&id, 1, None, &retry(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(applied, Transition::Applied);
    assert_eq!(
        officials(&store).await["off-1"],
        off_1(&[("retry_wait", 1)])
    );
    let again = ready_again(&store, "c-1").await;
    assert_eq!(officials(&store).await["off-1"], off_1(&[("queued", 1)]));
    grant(&store, &again, HOUR).await;
    store
        .requeue(&id, 2, Duration::ZERO, "throttled")
        .await
        .unwrap();
    assert_eq!(officials(&store).await["off-1"], off_1(&[("queued", 1)]));
    let again = ready_again(&store, "c-1").await;
    grant(&store, &again, HOUR).await;
    store
        .apply_status(&id, 3, "CA3", CallStatus::InProgress)
        .await
        .unwrap();
    assert_eq!(officials(&store).await["off-1"], off_1(&[("in_call", 1)]));
    store
        .finish(&id, 3, None, &terminal(Outcome::Completed))
        .await
        .unwrap();
    // A replayed or stale step moves nothing.
    store
        .finish(&id, 3, None, &terminal(Outcome::Completed))
        .await
        .unwrap();
    assert_eq!(officials(&store).await["off-1"], off_1(&[("completed", 1)]));

    // Cancelled: the waiting jobs end, each under its own official.
    let campaign = campaign_id();
    store
        .control_campaign(&campaign, CampaignAction::Cancel { hangup: false })
        .await
        .unwrap();
    for contact in ["c-2", "c-3"] {
        let verdict = store
            .authorize(&entries[contact], &DialLimits::official(OPEN), HOUR)
            .await
            .unwrap();
        assert_eq!(verdict, Authorize::Cancelled, "{contact}");
    }
    assert_eq!(
        officials(&store).await,
        expect(&[
            ("off-1", &[("completed", 1)]),
            ("off-2", &[("cancelled", 1), ("not_sampled", 1)]),
            ("off-3", &[("cancelled", 1)]),
        ])
    );
}

/// An inbound call's job counts under the programme desk, its official,
/// whoever the caller later says the call is about.
pub async fn inbound_jobs_count_under_the_desk(store: Arc<dyn Store>) {
    let campaign = CampaignId::parse("inbound").unwrap();
    store
        .put_campaign(&CampaignHeader {
            id: campaign.clone(),
            ..header()
        })
        .await
        .unwrap();
    let sid = "CAin";
    let mut spec: JobSpec = spec(sid, "programme-desk");
    spec.campaign_id = campaign.clone();
    spec.direction = Direction::Inbound;
    let job = JobRef::new(
        5,
        JobId::new(campaign.clone(), ContactId::parse(sid).unwrap()),
    );
    let about = Attribution {
        campaign_id: "police-1".into(),
        contact_id: "c-1".into(),
        official_id: "off-1".into(),
        department: "home".into(),
        office: "Dhenkanal Town PS".into(),
        service: String::new(),
        attributed: true,
    };
    for _ in 0..2 {
        let started = store
            .start_inbound(&job, &spec, &about, sid, HOUR)
            .await
            .unwrap();
        assert!(matches!(
            started,
            InboundStart::Created(_) | InboundStart::Existing(_)
        ));
    }
    assert_eq!(
        officials_of(&store, &campaign).await,
        expect(&[("programme-desk", &[("in_call", 1)])])
    );
    store
        .finish(&job, 1, None, &terminal(Outcome::Completed))
        .await
        .unwrap();
    assert_eq!(
        officials_of(&store, &campaign).await,
        expect(&[("programme-desk", &[("completed", 1)])])
    );
}
