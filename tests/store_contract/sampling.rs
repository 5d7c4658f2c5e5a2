//! Sample claims (`max_per_office_per_day`): at most the cap per (campaign,
//! office, day), atomic under concurrency, idempotent per contact.

use std::sync::Arc;

use sampark::domain::{CampaignId, ContactId};
use sampark::store::{SampleSlot, Store};

use super::helpers::campaign_id;

fn slot(campaign: &CampaignId, office: &str, day: &str) -> SampleSlot {
    SampleSlot {
        campaign: campaign.clone(),
        office: office.into(),
        day: day.into(),
    }
}

fn contact(i: usize) -> ContactId {
    ContactId::parse(&format!("c-{i}")).unwrap()
}

pub async fn sample_claims_keep_the_cap_and_are_idempotent(store: Arc<dyn Store>) {
    let campaign = campaign_id();
    let puri = slot(&campaign, "Puri Sadar PS", "2026-11-27");
    let mut held = Vec::new();
    for i in 0..5 {
        held.push(store.claim_sample(&puri, &contact(i), 3).await.unwrap());
    }
    assert_eq!(held, [true, true, true, false, false]);
    // Claiming again changes nothing: members keep their place, the rest
    // stay out, and nothing is counted twice.
    for i in (0..5).rev() {
        let again = store.claim_sample(&puri, &contact(i), 3).await.unwrap();
        assert_eq!(again, i < 3, "c-{i} again");
    }
    // Other offices, days and campaigns have their own places; an office
    // is matched exactly, not by a prefix or a case-folded name.
    let other = CampaignId::parse("police-2").unwrap();
    for other_slot in [
        slot(&campaign, "Puri Sadar PS", "2026-11-28"),
        slot(&campaign, "Puri Sadar P", "2026-11-27"),
        slot(&campaign, "puri sadar ps", "2026-11-27"),
        slot(&other, "Puri Sadar PS", "2026-11-27"),
    ] {
        assert!(
            store
                .claim_sample(&other_slot, &contact(4), 3)
                .await
                .unwrap(),
            "{other_slot:?}"
        );
    }
    assert!(!store.claim_sample(&puri, &contact(4), 3).await.unwrap());
    // A cap of one, any office name (free text, braces and all).
    let odd = slot(&campaign, "ପୁରୀ {s01} PS\n", "2026-11-27");
    assert!(store.claim_sample(&odd, &contact(9), 1).await.unwrap());
    assert!(!store.claim_sample(&odd, &contact(8), 1).await.unwrap());
    assert!(store.claim_sample(&odd, &contact(9), 1).await.unwrap());
}

pub async fn concurrent_sample_claims_never_exceed_the_cap(store: Arc<dyn Store>) {
    let campaign = campaign_id();
    let busy = slot(&campaign, "Cuttack Lalbag PS", "2026-11-27");
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let busy = busy.clone();
        // Each contact claims twice, as a replayed document would.
        tasks.push(tokio::spawn(async move {
            let first = store.claim_sample(&busy, &contact(i), 7).await.unwrap();
            let second = store.claim_sample(&busy, &contact(i), 7).await.unwrap();
            assert_eq!(first, second, "c-{i}: a claim is stable");
            first
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 7, "exactly the cap, fleet-wide");
}
