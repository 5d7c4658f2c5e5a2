//! The router with a `max_per_office_per_day` sample, on the memory store:
//! the cap per office and local day, across documents, replays and rate.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::IntakeRouter;
use crate::domain::{CampaignId, Outcome};
use crate::policy::CallingWindow;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::telemetry::Metrics;

fn router(store: &Arc<dyn Store>) -> IntakeRouter {
    IntakeRouter::new(
        store.clone(),
        Arc::new(|_: &str| true),
        "test".into(),
        Duration::from_secs(60),
        Arc::new(Metrics::new()),
        CallingWindow::default(),
    )
}

/// Contacts `from..to`, alternating between two offices, visits on two days
/// (in Kolkata; the second day's visits are 00:15 local, still the 27th in UTC).
fn contacts(from: usize, to: usize) -> Vec<Value> {
    (from..to)
        .map(|i| {
            let office = ["Puri Sadar PS", "Cuttack Lalbag PS"][i % 2];
            let visit = ["2026-11-27T10:00:00+05:30", "2026-11-27T18:45:00Z"][i / 2 % 2];
            json!({"id": format!("c-{i}"), "phone": format!("+9198{i:08}"),
                   "official_id": format!("off-{}", i % 3), "office": office,
                   "service": "s", "visit_at": visit})
        })
        .collect()
}

fn document(sample: Value, contacts: Vec<Value>) -> String {
    json!({"version": 1, "id": "capped", "name": "c", "dialplan": "p",
           "caller_id": "+916742000000", "department": "home",
           "sample": sample, "contacts": contacts})
    .to_string()
}

/// The contacts of campaign `capped` that are called (not ended), by
/// reading every feedback record: the rest are `not_sampled`.
async fn not_sampled(store: &Arc<dyn Store>) -> Vec<(String, String)> {
    for shard in 0..store.shards() {
        store
            .relay_feedback(shard, 1000, &crate::domain::ScoringRules::default())
            .await
            .unwrap();
    }
    let records = store.read_feedback("0", 1000).await.unwrap();
    records
        .into_iter()
        .map(|(_, r)| {
            assert_eq!(r.outcome, Outcome::NotSampled);
            (r.contact_id, r.reason.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn at_most_the_cap_per_office_and_day_across_documents_and_replays() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
    let sample = json!({"max_per_office_per_day": 3});
    // 40 contacts: 2 offices x 2 days x 10.
    let first = document(sample.clone(), contacts(0, 40));
    let report = router(&store)
        .ingest("1795755600000-0", &first)
        .await
        .unwrap();
    assert_eq!((report.accepted, report.not_sampled), (40, 40 - 12));
    let id = CampaignId::parse("capped").unwrap();
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(status.counts.get("queued"), Some(&12));
    assert_eq!(status.counts.get("not_sampled"), Some(&28));
    let left_out = not_sampled(&store).await;
    assert_eq!(left_out.len(), 28);
    let (_, why) = &left_out[0];
    assert!(
        why.contains("max_per_office_per_day 3") && why.contains("PS\" on 2026-11-2"),
        "{why}"
    );

    // The same document again (a replay, even days later): nothing changes.
    let again = router(&store)
        .ingest("1795999999999-0", &first)
        .await
        .unwrap();
    assert_eq!((again.duplicates, again.not_sampled), (40, 0));
    // A second chunk of the campaign for the same offices and days: every
    // place is taken, so none of it is called.
    let second = document(sample, contacts(40, 48));
    let more = router(&store)
        .ingest("1795755600001-0", &second)
        .await
        .unwrap();
    assert_eq!((more.accepted, more.not_sampled), (8, 8));
    let status = store.campaign_status(&id).await.unwrap().unwrap();
    assert_eq!(
        status.counts.get("queued"),
        Some(&12),
        "the cap holds in total"
    );
    assert_eq!(status.counts.get("not_sampled"), Some(&36));
}

#[tokio::test]
async fn the_same_document_gives_the_same_sample_and_rate_comes_first() {
    let doc = document(
        json!({"rate": 0.5, "max_per_office_per_day": 2}),
        contacts(0, 80),
    );
    let mut samples = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(8));
        let report = router(&store)
            .ingest("1795755600000-0", &doc)
            .await
            .unwrap();
        assert_eq!(report.not_sampled, 80 - 8, "2 per office per day");
        let left_out = not_sampled(&store).await;
        let by_rate = left_out
            .iter()
            .filter(|(_, w)| w.contains("rate 0.5"))
            .count();
        let by_cap = left_out
            .iter()
            .filter(|(_, w)| w.contains("max_per"))
            .count();
        assert_eq!(by_rate + by_cap, 72);
        assert!(
            (25..=55).contains(&by_rate),
            "{by_rate} of 80 outside the rate"
        );
        let called: BTreeSet<String> = (0..80)
            .map(|i| format!("c-{i}"))
            .filter(|c| !left_out.iter().any(|(id, _)| id == c))
            .collect();
        samples.push(called);
    }
    assert_eq!(samples[0], samples[1], "reproducible from the campaign id");
    assert_eq!(samples[0].len(), 8);
}

#[tokio::test]
async fn contacts_without_a_visit_count_on_their_intake_day() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(4));
    let undated = |i: usize| {
        json!({"id": format!("u-{i}"), "phone": format!("+9197{i:08}"),
               "official_id": "off-1", "office": "Puri Sadar PS", "service": "s"})
    };
    let sample = json!({"max_per_office_per_day": 2});
    // 2026-11-27 23:00 in Kolkata, then 2026-11-28 00:30: two intake days.
    let late = document(sample.clone(), (0..4).map(undated).collect());
    let report = router(&store)
        .ingest("1795800600000-0", &late)
        .await
        .unwrap();
    assert_eq!(report.not_sampled, 2);
    let early = document(sample, (4..8).map(undated).collect());
    let report = router(&store)
        .ingest("1795806000000-0", &early)
        .await
        .unwrap();
    assert_eq!(report.not_sampled, 2, "a new day has its own places");
    let days: BTreeSet<String> = not_sampled(&store)
        .await
        .into_iter()
        .map(|(_, why)| why.rsplit(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        days,
        BTreeSet::from(["2026-11-27".to_owned(), "2026-11-28".to_owned()])
    );
}
